using BitActors.Model.Architecture;
using BitActors.Model.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace BitActors.Model.Tests;

/// <summary>A small BiT made once by the independent PyTorch reference, shared by the tests below.</summary>
public sealed class MiniReference : IDisposable
{
    // Two units in the first two stages: strided and unstrided units, projections and identity shortcuts.
    public static readonly ResNetV2Config Config = new("Mini", [2, 2, 1, 1], 1, BaseWidth: 8, Groups: 4);
    public const int Classes = 5;

    public MiniReference() => Dir = PythonReference.Make("2,2,1,1", 1, 8, 4, Classes, resolution: 32);

    public string Dir { get; }

    public string File(string name) => Path.Combine(Dir, name);

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}

public class CheckpointInteropTests(MiniReference reference) : IClassFixture<MiniReference>
{
    private const double Tolerance = 1e-4;

    internal static Tensor ReadArray(string npz, string key)
    {
        using var archive = new NpzArchive(npz);
        var entry = archive.Entries.Single(e => e.Key == key);
        var t = empty(entry.Shape, dtype: entry.DType);
        archive.ReadInto(entry, t);
        return t;
    }

    internal static double MaxDifference(ResNetV2 model, Tensor input, Tensor expected)
    {
        model.eval();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return model.forward(input).sub(expected).abs().max().to(float64).item<double>();
    }

    [Theory]
    [InlineData("model.npz")]           // Google's layout, np.savez (stored)
    [InlineData("model_deflated.npz")]  // np.savez_compressed (deflate)
    [InlineData("model.safetensors")]   // timm's names
    public void EachFormatGivesTheReferenceLogits(string file)
    {
        using var model = new ResNetV2(MiniReference.Config, MiniReference.Classes);
        var report = CheckpointFiles.Load(model, reference.File(file), HeadPolicy.Require);
        Assert.True(report.HeadTaken);
        Assert.Equal(model.state_dict().Count, report.Tensors);
        using var input = ReadArray(reference.File("io.npz"), "input");
        using var logits = ReadArray(reference.File("io.npz"), "logits");
        Assert.InRange(MaxDifference(model, input, logits), 0, Tolerance);
    }

    [Fact]
    public void AGrayscaleModelRefusesAnRgbCheckpointNamingTheChannelRule()
    {
        // Summing the RGB root kernel is not the same model under weight standardisation: channels follow the checkpoint.
        using var gray = new ResNetV2(MiniReference.Config with { InChannels = 1 }, MiniReference.Classes);
        var e = Assert.Throws<CheckpointMismatchException>(() => CheckpointFiles.Load(gray, reference.File("model.npz"), HeadPolicy.Require));
        Assert.Contains("takes 3 input channel(s), the model 1", e.Message);
        Assert.Contains("input channels follow the checkpoint", e.Message);
    }

    [Fact]
    public void SafetensorsWrittenHereGiveTheSameLogitsInTheReference()
    {
        using var model = new ResNetV2(MiniReference.Config, MiniReference.Classes);
        CheckpointFiles.Load(model, reference.File("model.npz"), HeadPolicy.Require);
        using (no_grad())
        {
            torch.manual_seed(3);
            foreach (var p in model.parameters()) { using var scope = NewDisposeScope(); p.add_(randn_like(p).mul_(0.05)); }
        }
        var saved = CheckpointFiles.Save(model, Path.Combine(reference.Dir, "changed.safetensors"));
        Assert.Equal("safetensors", saved.Format);
        Assert.True(System.IO.File.Exists(saved.Path + ".sha256"));

        var theirs = Path.Combine(reference.Dir, "changed_logits.npy");
        PythonReference.Run("logits", "--units", "2,2,1,1", "--base", "8", "--groups", "4", "--classes", "5",
            "--weights", saved.Path, "--input", reference.File("io.npz"), "--out", theirs);
        NpzLikeFolder(theirs, out var folder);
        using var input = ReadArray(reference.File("io.npz"), "input");
        using var expected = ReadArray(folder, "logits");
        Assert.InRange(MaxDifference(model, input, expected), 0, Tolerance);
        using var originalLogits = ReadArray(reference.File("io.npz"), "logits");
        Assert.True(MaxDifference(model, input, originalLogits) > 1e-3, "the perturbation changed nothing: the check would prove nothing");
    }

    /// <summary>Wraps a single .npy into a one-entry .npz so the archive reader can read it.</summary>
    private static void NpzLikeFolder(string npy, out string npz)
    {
        npz = Path.ChangeExtension(npy, ".npz");
        using var zip = new System.IO.Compression.ZipArchive(File.Create(npz), System.IO.Compression.ZipArchiveMode.Create);
        using var entry = zip.CreateEntry("logits.npy").Open();
        using var source = File.OpenRead(npy);
        source.CopyTo(entry);
    }

    [Theory]
    [InlineData(".npz")]
    [InlineData(".safetensors")]
    [InlineData(".bin")]
    public void EveryFormatRoundTripsExactly(string extension)
    {
        using var model = new ResNetV2(MiniReference.Config, MiniReference.Classes);
        CheckpointFiles.Load(model, reference.File("model.npz"), HeadPolicy.Require);
        var path = Path.Combine(reference.Dir, "roundtrip" + extension);
        CheckpointFiles.Save(model, path);
        Assert.Equal(CheckpointFiles.FormatFor(path), CheckpointFiles.Detect(path));
        using var copy = new ResNetV2(MiniReference.Config, MiniReference.Classes);
        CheckpointFiles.Load(copy, path, HeadPolicy.Require);
        var theirs = copy.state_dict();
        foreach (var (name, tensor) in model.state_dict())
            Assert.True(tensor.eq(theirs[name]).all().item<bool>(), $"{name} differs after a {extension} round trip");
    }

    [Fact]
    public void HeadIsTakenWhenClassesFitAndZeroedOtherwise()
    {
        using var transfer = new ResNetV2(MiniReference.Config, 3);
        var report = CheckpointFiles.Load(transfer, reference.File("model.npz"), HeadPolicy.Auto);
        Assert.False(report.HeadTaken);
        using var input = ReadArray(reference.File("io.npz"), "input");
        using var none = zeros(2, 3);
        Assert.Equal(0.0, MaxDifference(transfer, input, none));

        using var same = new ResNetV2(MiniReference.Config, MiniReference.Classes);
        Assert.True(CheckpointFiles.Load(same, reference.File("model.npz"), HeadPolicy.Auto).HeadTaken);
        Assert.False(CheckpointFiles.Load(same, reference.File("model.npz"), HeadPolicy.Replace).HeadTaken);

        using var strict = new ResNetV2(MiniReference.Config, 3);
        var e = Assert.Throws<CheckpointMismatchException>(() => CheckpointFiles.Load(strict, reference.File("model.npz"), HeadPolicy.Require));
        Assert.Contains("resnet/head/conv2d/kernel [1, 1, 256, 5] (model needs [1, 1, 256, 3])", e.Message);
    }

    [Fact]
    public void AnotherArchitectureIsRefusedNamingEveryKindOfMismatch()
    {
        using var tiny = new ResNetV2(KnownModels.Get("Tiny"), MiniReference.Classes);
        var e = Assert.Throws<CheckpointMismatchException>(() => CheckpointFiles.Load(tiny, reference.File("model.npz"), HeadPolicy.Replace));
        Assert.Contains("resnet/block1/unit02/a/standardized_conv2d/kernel", e.Unexpected);
        Assert.Contains(e.Misshaped, m => m.StartsWith("resnet/root_block/standardized_conv2d/kernel [7, 7, 3, 8]", StringComparison.Ordinal));
        Assert.Contains(reference.File("model.npz"), e.Message);
        Assert.Contains("Tiny", e.Message);

        using var wider = new ResNetV2(MiniReference.Config with { Units = [2, 2, 2, 1] }, MiniReference.Classes);
        var missing = Assert.Throws<CheckpointMismatchException>(() => CheckpointFiles.Load(wider, reference.File("model.safetensors"), HeadPolicy.Require));
        Assert.Contains("stages.2.blocks.1.conv1.weight", missing.Missing);
    }

    [Fact]
    public void OnlyBitModelsFitTheNpzLayout()
    {
        using var bn = new ResNetV2(MiniReference.Config with { Norm = NormKind.BatchNorm }, MiniReference.Classes);
        var e = Assert.Throws<NotSupportedException>(() => CheckpointFiles.Save(bn, Path.Combine(reference.Dir, "bn.npz")));
        Assert.Contains(".safetensors", e.Message);
    }
}

/// <summary>
/// The real R50x1 (BiT-M-R50x1's layout: 153 arrays, units up to unit06) against the reference, at 64 px.
/// In float64 both sides compute the same function to rounding; in float32 the two summation orders
/// differ by float32 rounding, relative to the logits' scale.
/// </summary>
public class R50ReferenceTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    [Trait("Category", "EndToEnd")]
    public void R50x1NpzGivesTheReferenceLogits()
    {
        var dir = PythonReference.Make("3,4,6,3", 1, 64, 32, 10, resolution: 64);
        try
        {
            using var model = new ResNetV2(KnownModels.Get("R50x1"), 10);
            var report = CheckpointFiles.Load(model, Path.Combine(dir, "model.npz"), HeadPolicy.Require);
            Assert.Equal(153, report.Tensors);
            using var input = CheckpointInteropTests.ReadArray(Path.Combine(dir, "io.npz"), "input");
            using var logits = CheckpointInteropTests.ReadArray(Path.Combine(dir, "io.npz"), "logits");
            double scale = logits.abs().max().item<float>();
            double diff32 = CheckpointInteropTests.MaxDifference(model, input, logits);
            output.WriteLine($"R50x1 float32: max |logit difference| {diff32:E2} (logits up to {scale:F2})");
            Assert.InRange(diff32, 0, 2e-5 * scale);

            using var logits64 = CheckpointInteropTests.ReadArray(Path.Combine(dir, "io.npz"), "logits64");
            using var logits64as32 = logits64.to(float32);
            output.WriteLine($"float32 against the reference's float64: BitActors {CheckpointInteropTests.MaxDifference(model, input, logits64as32):E2}, " +
                $"the reference's own float32 {logits.sub(logits64as32).abs().max().item<float>():E2}");
            model.to(float64);
            using var input64 = input.to(float64);
            double diff64 = CheckpointInteropTests.MaxDifference(model, input64, logits64);
            output.WriteLine($"R50x1 float64: max |logit difference| {diff64:E2}");
            Assert.InRange(diff64, 0, 1e-4);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
