using System.Text.Json;
using BitActors.Streams.Images;

namespace BitActors.Cli.Tests;

public class CheckpointCommandTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    private static string Png(string dir, string name, byte shade)
    {
        var pixels = new byte[28 * 28];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)((i * 7 + shade) % 256);
        var path = Path.Combine(dir, name);
        File.WriteAllBytes(path, ImageCodec.EncodePng(pixels, 28, 28, 1));
        return path;
    }

    private static async Task<JsonDocument> PredictAsync(string checkpoint, params string[] images)
    {
        var (code, stdout, stderr) = await CliProcess.RunAsync(Timeout,
            ["predict", "--checkpoint", checkpoint, "--arch", "Tiny", "--classes", "10", "--channels", "1", "--json", .. images]);
        Assert.True(code == 0, stderr);
        return JsonDocument.Parse(stdout);
    }

    [Fact]
    public async Task ExportedFormatsPredictTheSameLogitsAndABadImageIsNamed()
    {
        var dir = Directory.CreateTempSubdirectory("bitactors-predict").FullName;
        try
        {
            var npz = Path.Combine(dir, "tiny.npz");
            var (code, stdout, stderr) = await CliProcess.RunAsync(Timeout, "model", "export", "--arch", "Tiny", "--classes", "10", "--channels", "1", "--seed", "3", "--output", npz, "--json");
            Assert.True(code == 0, stderr);
            using (var exported = JsonDocument.Parse(stdout)) Assert.Equal("npz", exported.RootElement.GetProperty("format").GetString());
            Assert.True(File.Exists(npz + ".sha256"));
            var safetensors = Path.Combine(dir, "tiny.safetensors");
            (code, _, stderr) = await CliProcess.RunAsync(Timeout, "model", "export", "--arch", "Tiny", "--classes", "10", "--channels", "1", "--checkpoint", npz, "--output", safetensors);
            Assert.True(code == 0, stderr);

            var a = Png(dir, "a.png", 0);
            var b = Png(dir, "b.png", 90);
            using var fromNpz = await PredictAsync(npz, a, b);
            using var fromSafetensors = await PredictAsync(safetensors, a, b);
            var first = fromNpz.RootElement.GetProperty("predictions");
            var second = fromSafetensors.RootElement.GetProperty("predictions");
            Assert.Equal(2, first.GetArrayLength());
            for (int i = 0; i < 2; i++)
            {
                Assert.Equal(128, first[i].GetProperty("resolution").GetInt32()); // HyperRule: 28x28 images are evaluated at 128
                Assert.Equal(5, first[i].GetProperty("top").GetArrayLength());
                var x = first[i].GetProperty("logits").EnumerateArray().Select(e => e.GetSingle()).ToArray();
                var y = second[i].GetProperty("logits").EnumerateArray().Select(e => e.GetSingle()).ToArray();
                Assert.Equal(10, x.Length);
                Assert.Equal(x, y);
                Assert.Equal(x.Max(), first[i].GetProperty("top")[0].GetProperty("logit").GetSingle());
            }
            Assert.NotEqual(first[0].GetProperty("logits").ToString(), first[1].GetProperty("logits").ToString());

            var broken = Path.Combine(dir, "broken.png");
            File.WriteAllBytes(broken, File.ReadAllBytes(a)[..40]);
            (code, stdout, stderr) = await CliProcess.RunAsync(Timeout, "predict", "--checkpoint", npz, "--arch", "Tiny", "--classes", "10", "--channels", "1", "--json", broken, a);
            Assert.Equal(1, code);
            using var partial = JsonDocument.Parse(stdout);
            Assert.Equal(1, partial.RootElement.GetProperty("predictions").GetArrayLength());
            Assert.Equal(broken, partial.RootElement.GetProperty("errors")[0].GetProperty("image").GetString());
            Assert.Contains("broken.png", stderr);

            (code, _, stderr) = await CliProcess.RunAsync(Timeout, "predict", "--checkpoint", npz, "--arch", "Tiny", "--classes", "7", "--channels", "1", a);
            Assert.Equal(1, code);
            Assert.Contains("--classes 7 disagrees with", stderr);
            Assert.Contains("which holds 10 (from its metadata)", stderr);

            // The file says what it is: no model option is needed, and the answer is the same.
            (code, stdout, stderr) = await CliProcess.RunAsync(Timeout, "predict", "--checkpoint", npz, "--json", a);
            Assert.True(code == 0, stderr);
            using var bare = JsonDocument.Parse(stdout);
            Assert.Equal(("Tiny", 10, 1, "metadata"), (bare.RootElement.GetProperty("arch").GetString(), bare.RootElement.GetProperty("classes").GetInt32(),
                bare.RootElement.GetProperty("channels").GetInt32(), bare.RootElement.GetProperty("described_by").GetString()));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
