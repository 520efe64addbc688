using System.Text.Json;

namespace BitActors.Cli.Tests;

public class OnnxExportCommandTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task ModelExportWritesAnOnnxModelChosenByTheExtension()
    {
        var dir = Directory.CreateTempSubdirectory("bitactors-onnx-cli").FullName;
        try
        {
            var path = Path.Combine(dir, "x.onnx");
            var (code, stdout, stderr) = await CliProcess.RunAsync(Timeout,
                "model", "export", "--arch", "Tiny", "--classes", "3", "--channels", "3", "--output", path, "--json");
            Assert.True(code == 0, stderr);
            using var json = JsonDocument.Parse(stdout);
            Assert.Equal("onnx", json.RootElement.GetProperty("format").GetString());
            Assert.Equal(path, json.RootElement.GetProperty("output").GetString());
            var bytes = File.ReadAllBytes(path);
            Assert.Equal(bytes.Length, json.RootElement.GetProperty("bytes").GetInt64());
            var sha = json.RootElement.GetProperty("sha256").GetString()!;
            Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), sha);
            Assert.Equal($"{sha}  x.onnx\n", File.ReadAllText(path + ".sha256"));
            var model = Onnx.ModelProto.Parser.ParseFrom(bytes);
            Assert.Equal("bitactors", model.ProducerName);
            Assert.Equal(17, model.OpsetImport.Single().Version);
            var input = model.Graph.Input.Single();
            Assert.Equal("input", input.Name);
            Assert.Equal(3, input.Type.TensorType.Shape.Dim[1].DimValue);
            var logits = model.Graph.Output.Single();
            Assert.Equal("logits", logits.Name);
            Assert.Equal(3, logits.Type.TensorType.Shape.Dim[1].DimValue);
            Assert.Contains(model.Graph.Node, n => n.OpType == "InstanceNormalization"); // Tiny is GroupNorm
            Assert.False(File.Exists(path + ".data"));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
