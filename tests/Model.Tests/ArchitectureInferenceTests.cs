using BitActors.Model.Architecture;
using BitActors.Model.Checkpoints;
using static TorchSharp.torch;

namespace BitActors.Model.Tests;

/// <summary>The architecture read off a checkpoint's array names and shapes, in all three layouts, without --arch.</summary>
public sealed class ArchitectureInferenceTests : IDisposable
{
    private readonly DirectoryInfo folder = Directory.CreateTempSubdirectory("bitactors-infer");

    [Theory]
    [InlineData("Tiny", 1, 7, "model.bin")]
    [InlineData("Tiny", 3, 5, "model.safetensors")]
    [InlineData("Small", 3, 10, "model.npz")]
    [InlineData("Small", 1, 2, "model.bin")]
    public void EachFormatTellsItsArchitectureChannelsAndClasses(string arch, int channels, int classes, string file)
    {
        var path = Path.Combine(folder.FullName, file);
        using (var model = new ResNetV2(KnownModels.Get(arch, channels), classes))
            CheckpointFiles.Save(model, path);

        var inferred = ArchitectureInference.Infer(path);

        Assert.Equal(arch, inferred.Config.Name);
        Assert.Equal(KnownModels.Get(arch).Units, inferred.Config.Units);
        Assert.Equal((channels, classes), (inferred.Config.InChannels, inferred.Classes));
        Assert.Equal(NormKind.GroupNorm, inferred.Config.Norm);
    }

    [Fact]
    public void AnOfficialLayoutR50x1WithoutAHeadIsR50x1()
    {
        // Google's BiT-M files carry a head; a feature extractor without one still names its body.
        var path = Path.Combine(folder.FullName, "BiT-M-R50x1.npz");
        using (var model = new ResNetV2(KnownModels.Get("R50x1"), 1))
            NpzArchive.Write(path, model.state_dict().Where(p => !p.Key.StartsWith("head_conv", StringComparison.Ordinal))
                .Select(p => (WeightLayout.BitNpz.KeyFor(p.Key)!, WeightLayout.BitNpz.ToStored(p.Key, p.Value).contiguous())));

        var inferred = ArchitectureInference.Infer(path);

        Assert.Equal("R50x1", inferred.Config.Name);
        Assert.Equal(3, inferred.Config.InChannels);
        Assert.Null(inferred.Classes);
    }

    [Fact]
    public void AFileOfNoKnownArchitectureIsRefusedSayingWhatItHolds()
    {
        var path = Path.Combine(folder.FullName, "odd.npz");
        NpzArchive.Write(path, [("resnet/root_block/standardized_conv2d/kernel", zeros(7, 7, 3, 40)), ("resnet/block1/unit01/a/group_norm/gamma", zeros(40))]);

        var e = Assert.Throws<CheckpointFormatException>(() => ArchitectureInference.Infer(path));

        Assert.Contains("units [1]", e.Message);
        Assert.Contains("root width of 40", e.Message);
        Assert.Contains("--arch", e.Message);
    }

    [Fact]
    public void AFileWithoutARootKernelIsNotAResNet()
    {
        var path = Path.Combine(folder.FullName, "other.npz");
        NpzArchive.Write(path, [("dense/kernel", zeros(4, 4))]);

        var e = Assert.Throws<CheckpointFormatException>(() => ArchitectureInference.Infer(path));

        Assert.Contains("not a ResNet-v2 checkpoint", e.Message);
    }

    public void Dispose() => folder.Delete(recursive: true);
}
