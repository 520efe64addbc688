using System.Diagnostics;
using System.Text;
using System.Text.Json;
using BitActors.Model.Architecture;
using BitActors.Model.Checkpoints;
using BitActors.Streams.Images;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace BitActors.Cli.Tests;

/// <summary>
/// A .safetensors model as `bitactors model export` writes it loads, with strict=True, into a ResNet-v2 written
/// in plain PyTorch under timm's names (Python/timm_resnetv2.py, python3-torch), which gives `bitactors predict`'s
/// logits on the same preprocessed image within 1e-4. Every norm's scale and shift is random (a fresh model's are 1
/// and 0, which would hide a norm loaded into the wrong place), and the head is not zero.
/// </summary>
public sealed class PyTorchInteropTests(ITestOutputHelper output) : IDisposable
{
    private readonly DirectoryInfo work = Directory.CreateTempSubdirectory("bitactors-pytorch");

    public void Dispose() => work.Delete(recursive: true);

    [Theory]
    [InlineData("Tiny", 5, 3, 32)]
    [InlineData("Tiny", 3, 1, 32)]
    [InlineData("Small", 4, 3, 32)]
    [InlineData("R50x1", 10, 3, 64)]
    public async Task PyTorchLoadsTheExportedModelStrictlyAndGivesPredictsLogits(string arch, int classes, int channels, int resolution)
    {
        var native = Path.Combine(work.FullName, "model.bin");
        WriteModelWithRandomNorms(native, arch, classes, channels);
        var weights = Path.Combine(work.FullName, "model.safetensors");
        var model = new[] { "--arch", arch, "--classes", classes.ToString(), "--channels", channels.ToString() };
        var (exported, _, exportErrors) = await CliProcess.RunAsync(TimeSpan.FromMinutes(2), ["model", "export", "--checkpoint", native, .. model, "--output", weights]);
        Assert.True(exported == 0, exportErrors);

        // An image at exactly the predict resolution (no resampling), and the same pixels preprocessed as x/127.5 − 1, CHW.
        var pixels = new byte[resolution * resolution * channels];
        new Random(7).NextBytes(pixels);
        var image = Path.Combine(work.FullName, "image.png");
        File.WriteAllBytes(image, ImageCodec.EncodePng(pixels, resolution, resolution, channels));
        var input = Path.Combine(work.FullName, "input.npy");
        PyTorchPeer.WriteNpy(input, Chw(pixels, resolution, channels), [1, channels, resolution, resolution]);

        var (predicted, json, predictErrors) = await CliProcess.RunAsync(TimeSpan.FromMinutes(2),
            ["predict", "--checkpoint", weights, .. model, "--image", image, "--resolution", resolution.ToString(), "--json"]);
        Assert.True(predicted == 0, predictErrors);
        var ours = JsonDocument.Parse(json).RootElement.GetProperty("predictions")[0].GetProperty("logits").EnumerateArray().Select(e => e.GetDouble()).ToArray();

        var peer = JsonDocument.Parse(PyTorchPeer.Run("--weights", weights, "--input", input)).RootElement;
        Assert.Equal(arch, peer.GetProperty("arch").GetString()); // read from the file's metadata
        var theirs = peer.GetProperty("logits")[0].EnumerateArray().Select(e => e.GetDouble()).ToArray();

        Assert.Equal(classes, ours.Length);
        Assert.Equal(classes, theirs.Length);
        Assert.True(ours.Max() - ours.Min() > 0.05, $"logits too flat to compare: {string.Join(", ", ours)}");
        var diff = ours.Zip(theirs, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"{arch} {channels}ch {resolution}px: max |logit diff| {diff:E2} (logits span {ours.Min():F3} to {ours.Max():F3})");
        Assert.True(diff <= 1e-4, $"bitactors {string.Join(", ", ours)} vs PyTorch {string.Join(", ", theirs)}: max diff {diff:E2}");
    }

    [Fact]
    public void ThePeerSaysHowItIsUsed()
    {
        var help = PyTorchPeer.Run("--help");
        Assert.Contains("usage: timm_resnetv2.py --weights MODEL.safetensors --input X.npy", help);
    }

    /// <summary>A fresh model whose norm scales are drawn from [0.5, 1.5] and shifts from N(0, 0.2), saved natively.</summary>
    private static void WriteModelWithRandomNorms(string path, string arch, int classes, int channels)
    {
        manual_seed(11);
        using var model = new ResNetV2(KnownModels.Get(arch, channels), classes);
        using (no_grad())
        {
            foreach (var (name, parameter) in model.named_parameters())
            {
                if (!name.Contains("gn", StringComparison.Ordinal)) continue;
                if (name.EndsWith(".weight", StringComparison.Ordinal)) parameter.uniform_(0.5, 1.5);
                else parameter.normal_(0, 0.2);
            }
        }
        CheckpointFiles.Save(model, path);
    }

    private static float[] Chw(byte[] hwc, int size, int channels)
    {
        var chw = new float[hwc.Length];
        for (int c = 0; c < channels; c++)
        for (int i = 0; i < size * size; i++)
            chw[c * size * size + i] = hwc[i * channels + c] / 127.5f - 1f;
        return chw;
    }
}
