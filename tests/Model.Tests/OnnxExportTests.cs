using System.Diagnostics;
using BitActors.Model.Architecture;
using BitActors.Model.Checkpoints;
using BitActors.Model.Export;
using Microsoft.ML.OnnxRuntime;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace BitActors.Model.Tests;

/// <summary>
/// Exported ONNX models run in ONNX Runtime give TorchSharp's eval-mode logits (max abs diff ≤ 1e-4) at two
/// resolutions from one file, and pass python3-onnx's checker (Debian's python3-onnx; ./run-tests installs it).
/// </summary>
public class OnnxExportTests(ITestOutputHelper output) : IDisposable
{
    private const double Tolerance = 1e-4;
    private readonly string dir = Directory.CreateTempSubdirectory("bitactors-onnx-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Theory]
    [InlineData("Tiny", 3, NormKind.GroupNorm, true)]
    [InlineData("Tiny", 1, NormKind.GroupNorm, true)]
    [InlineData("Tiny", 3, NormKind.GroupNorm, false)]
    [InlineData("Tiny", 3, NormKind.BatchNorm, false)]
    [InlineData("Tiny", 1, NormKind.BatchNorm, true)]
    public void TinyLogitsMatchTorchSharpAtTwoResolutions(string arch, int channels, NormKind norm, bool ws)
    {
        using var model = RandomModel(KnownModels.Get(arch, channels, norm, ws), classes: 5, seed: 11);
        var path = Path.Combine(dir, "tiny.onnx");
        var saved = OnnxExport.Write(model, path);
        Assert.Equal("onnx", saved.Format);
        Assert.Equal(CheckpointFiles.Hash(path).Sha256, saved.Sha256);
        Assert.StartsWith(saved.Sha256 + "  tiny.onnx", File.ReadAllText(path + ".sha256"));
        Assert.False(File.Exists(OnnxExport.DataPath(path)));

        using var session = new InferenceSession(path);
        AssertSameLogits(model, session, batch: 2, channels, size: 32);
        AssertSameLogits(model, session, batch: 3, channels, size: 45);
    }

    [Fact]
    public void R50x1LogitsMatchTorchSharpAndTheCheckerAcceptsIt()
    {
        using var model = RandomModel(KnownModels.Get("R50x1"), classes: 10, seed: 5);
        var path = Path.Combine(dir, "r50x1.onnx");
        var clock = Stopwatch.StartNew();
        var saved = OnnxExport.Write(model, path);
        output.WriteLine($"R50x1 export: {clock.Elapsed.TotalSeconds:F2} s, {saved.Bytes / 1e6:F1} MB");
        Assert.False(File.Exists(OnnxExport.DataPath(path)));
        Assert.True(saved.Bytes > OnnxExport.WeightBytes(model));

        using var session = new InferenceSession(path);
        AssertSameLogits(model, session, batch: 2, channels: 3, size: 64);
        AssertSameLogits(model, session, batch: 1, channels: 3, size: 96);
        clock.Restart();
        Check(path);
        output.WriteLine($"checker: {clock.Elapsed.TotalSeconds:F2} s");
    }

    [Fact]
    public void MetadataAndTheInterfaceRoundTrip()
    {
        using var model = RandomModel(KnownModels.Get("Tiny", 1), classes: 4, seed: 2);
        var metadata = new Dictionary<string, string>
        {
            ["bitactors.arch"] = "Tiny",
            ["bitactors.classes"] = "4",
            ["bitactors.class_names"] = "[\"cat\",\"dog\",\"é, ü\",\"x\"]",
        };
        var path = Path.Combine(dir, "meta.onnx");
        OnnxExport.Write(model, path, metadata);

        var proto = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        Assert.Equal(metadata, proto.MetadataProps.ToDictionary(p => p.Key, p => p.Value));
        Assert.Equal("bitactors", proto.ProducerName);
        Assert.Equal(OnnxExport.Opset, proto.OpsetImport.Single(o => o.Domain == "").Version);
        Assert.DoesNotContain(proto.Graph.Node, n => n.OpType is "Sub" or "Div" or "Sqrt" or "ReduceMean"); // standardisation folded

        using var session = new InferenceSession(path);
        Assert.Equal(metadata, session.ModelMetadata.CustomMetadataMap);
        Assert.Equal("bitactors", session.ModelMetadata.ProducerName);
        var input = session.InputMetadata["input"];
        Assert.Equal(new[] { -1, 1, -1, -1 }, input.Dimensions);
        Assert.Equal(new[] { "N", "", "H", "W" }, input.SymbolicDimensions);
        Assert.Equal(new[] { -1, 4 }, session.OutputMetadata["logits"].Dimensions);
        Check(path);
    }

    [Fact]
    public void WeightsOverTheLimitGoToExternalDataAndASmallerExportRemovesThem()
    {
        using var model = RandomModel(KnownModels.Get("Tiny", 3, NormKind.BatchNorm, true), classes: 3, seed: 9);
        var path = Path.Combine(dir, "big.onnx");
        var data = OnnxExport.DataPath(path);
        var saved = OnnxExport.Write(model, path, singleFileLimit: 1000);
        Assert.True(saved.Bytes < 100_000, $"graph only, {saved.Bytes} bytes");
        Assert.Equal(OnnxExport.WeightBytes(model), new FileInfo(data).Length);
        Assert.StartsWith(CheckpointFiles.Hash(data).Sha256 + "  big.onnx.data", File.ReadAllText(data + ".sha256"));
        Assert.Empty(Directory.GetFiles(dir, "*.partial"));
        using (var session = new InferenceSession(path))
            AssertSameLogits(model, session, batch: 2, channels: 3, size: 40);
        Check(path);

        OnnxExport.Write(model, path);
        Assert.False(File.Exists(data));
        Assert.False(File.Exists(data + ".sha256"));
        using (var session = new InferenceSession(path))
            AssertSameLogits(model, session, batch: 1, channels: 3, size: 40);
    }

    [Fact]
    public void OnlyOnnxFileNamesAreHandled()
    {
        Assert.True(OnnxExport.Handles("a/b/Model.ONNX"));
        Assert.False(OnnxExport.Handles("model.onnx.data"));
        Assert.False(OnnxExport.Handles("model.safetensors"));
        using var model = new ResNetV2(KnownModels.Get("Tiny"), 2);
        var error = Assert.Throws<ArgumentException>(() => OnnxExport.Write(model, Path.Combine(dir, "model.npz")));
        Assert.Contains(".onnx", error.Message);
    }

    /// <summary>A seeded model with a non-zero head, non-trivial norm parameters and, for BatchNorm, running statistics from 40 train-mode passes.</summary>
    private static ResNetV2 RandomModel(ResNetV2Config config, int classes, int seed)
    {
        manual_seed(seed);
        var model = new ResNetV2(config, classes);
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            foreach (var (name, p) in model.named_parameters())
            {
                if (name.EndsWith(".bias") && !name.StartsWith("head_conv")) p.copy_(randn_like(p).mul_(0.1));
                else if (p.dim() == 1) p.copy_(randn_like(p).mul_(0.2).add_(1.0));
            }
            if (config.Norm == NormKind.BatchNorm)
            {
                // Running statistics of the data the model sees (random ones let weight-standardised activations explode).
                using var batch = rand(8, config.InChannels, 32, 32).mul_(2.0).sub_(1.0);
                model.train();
                for (int i = 0; i < 40; i++) model.forward(batch);
            }
        }
        model.eval();
        return model;
    }

    private void AssertSameLogits(ResNetV2 model, InferenceSession session, int batch, int channels, int size)
    {
        long[] shape = [batch, channels, size, size];
        float[] pixels;
        float[] expected;
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var x = rand(shape).mul_(2.0).sub_(1.0); // preprocessed range, x/127.5 - 1
            pixels = x.data<float>().ToArray();
            expected = model.forward(x).data<float>().ToArray();
        }
        using var input = OrtValue.CreateTensorValueFromMemory(pixels, shape);
        using var options = new RunOptions();
        using var results = session.Run(options, ["input"], [input], ["logits"]);
        Assert.Equal(new long[] { batch, model.NumClasses }, results[0].GetTensorTypeAndShape().Shape);
        var actual = results[0].GetTensorDataAsSpan<float>().ToArray();
        var diff = expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max();
        var scale = expected.Max(Math.Abs);
        output.WriteLine($"{model.Config} {batch}x{channels}x{size}x{size}: max abs diff {diff:E2} (logits up to {scale:F2})");
        Assert.True(diff <= Tolerance, $"max abs diff {diff} > {Tolerance} at {size}px");
    }

    /// <summary>python3-onnx's checker with full shape inference.</summary>
    private static void Check(string path)
    {
        var start = new ProcessStartInfo(PythonReference.Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)");
        start.ArgumentList.Add(path);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), "the ONNX checker ran over 2 minutes");
        Assert.True(process.ExitCode == 0, $"onnx.checker rejected {path} (needs python3-onnx: apt-get install python3-onnx):\n{stderr.Result}");
    }
}
