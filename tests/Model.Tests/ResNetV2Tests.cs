using TorchSharp;
using BitActors.Model.Architecture;
using static TorchSharp.torch;

namespace BitActors.Model.Tests;

public class ResNetV2Tests
{
    [Theory]
    [InlineData("R50x1", 1000, 25_549_352L)]   // bit_pytorch / timm resnetv2_50x1_bit
    [InlineData("R50x1", 21843, 68_256_659L)]
    public void ParameterCountsMatchTheReferenceImplementation(string arch, int classes, long expected)
    {
        using var model = new ResNetV2(KnownModels.Get(arch), classes);
        Assert.Equal(expected, model.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void TinyModelMapsABatchToLogitsPerClass()
    {
        using var model = new ResNetV2(KnownModels.Get("Tiny", inChannels: 1), 7);
        using var x = randn(3, 1, 32, 32);
        using var y = model.forward(x);
        Assert.Equal(new long[] { 3, 7 }, y.shape);
        Assert.False(y.isnan().any().item<bool>());
    }

    [Fact]
    public void ZeroHeadGivesUniformPredictions()
    {
        using var model = new ResNetV2(KnownModels.Get("Tiny", inChannels: 1), 5, zeroHead: true);
        using var x = randn(2, 1, 32, 32);
        using var y = model.forward(x);
        Assert.Equal(0.0, y.abs().max().item<float>());
    }

    [Fact]
    public void StdConvStandardisesEachOutputChannel()
    {
        // A conv whose kernels are shifted and scaled gives the same output as the unshifted one:
        // standardisation removes per-channel mean and scale.
        using var conv = new StdConv2d("c", 2, 3, 3, padding: 1);
        using var x = randn(1, 2, 5, 5);
        using var before = conv.forward(x);
        using (no_grad()) conv.Weight.mul_(7.0).add_(3.0);
        using var after = conv.forward(x);
        Assert.True(before.allclose(after, rtol: 1e-4, atol: 1e-4));
    }

    [Fact]
    public void StandardisedKernelIsZeroMeanUnitBiasedVariancePerOutputChannel()
    {
        using var conv = new StdConv2d("c", 4, 6, 3);
        using var w = conv.Weight.detach().to_type(ScalarType.Float64);
        var (variance, mean) = var_mean(w, [1, 2, 3], unbiased: false, keepdim: true);
        using var expected = (w - mean) / (variance + StdConv2d.Eps).sqrt();
        using var actual = conv.Standardized().detach().to_type(ScalarType.Float64);
        Assert.True(actual.allclose(expected, rtol: 1e-4, atol: 1e-5));
    }

    [Fact]
    public void UnknownArchitectureIsNamedInTheError()
    {
        var e = Assert.Throws<ArgumentException>(() => KnownModels.Get("R42x9"));
        Assert.Contains("R42x9", e.Message);
        Assert.Contains("R50x1", e.Message);
    }
}

public class AblationSwitchTests
{
    [Fact]
    public void BatchNormAndPlainConvKeepTheParameterCountAndChangeTheFunction()
    {
        var gnws = KnownModels.Get("Tiny");
        manual_seed(1);
        using var reference = new ResNetV2(gnws, 3);
        using var bn = new ResNetV2(gnws with { Norm = NormKind.BatchNorm }, 3);
        using var plain = new ResNetV2(gnws with { WeightStandardization = false }, 3);
        long count(ResNetV2 m) => m.parameters().Sum(p => p.numel());
        Assert.Equal(count(reference), count(bn));
        Assert.Equal(count(reference), count(plain));
        Assert.Contains("body.block1.unit01.gn1.running_mean", bn.state_dict().Keys);
        Assert.DoesNotContain("body.block1.unit01.gn1.running_mean", reference.state_dict().Keys);

        // Same weights, other layers: the outputs differ.
        plain.load_state_dict(reference.state_dict());
        using var x = randn(2, 3, 32, 32);
        reference.eval(); plain.eval();
        using var a = reference.Features(x);
        using var b = plain.Features(x);
        Assert.False(a.allclose(b, rtol: 1e-3, atol: 1e-3));
        Assert.Equal("BN", (gnws with { Norm = NormKind.BatchNorm, WeightStandardization = false }).NormLabel);
    }

    [Fact]
    public void BatchNormTracksRunningStatisticsInTrainingOnly()
    {
        using var bn = new ResNetV2(KnownModels.Get("Tiny") with { Norm = NormKind.BatchNorm }, 3);
        var mean = bn.state_dict()["head_gn.running_mean"];
        using var before = mean.clone();
        using var x = randn(4, 3, 32, 32);
        bn.eval();
        using (no_grad()) bn.forward(x).Dispose();
        Assert.True(before.eq(mean).all().item<bool>());
        bn.train();
        using (no_grad()) bn.forward(x).Dispose();
        Assert.False(before.eq(mean).all().item<bool>());
    }

    [Theory]
    [InlineData("gn", NormKind.GroupNorm)]
    [InlineData("BatchNorm", NormKind.BatchNorm)]
    public void NormNamesParse(string text, NormKind expected) => Assert.Equal(expected, KnownModels.ParseNorm(text));
}

[CollectionDefinition("DefaultDevice", DisableParallelization = true)]
public class DefaultDeviceCollection;

/// <summary>All six BiT variants, built on the meta device (shapes only, no memory), against the reference counts.</summary>
[Collection("DefaultDevice")]
public class VariantCountTests
{
    // From the independent reference (tests/Model.Tests/Reference/bit_reference.py), equal to timm's resnetv2_*_bit.
    [Theory]
    [InlineData("R50x1", 1000, 25_549_352L)]
    [InlineData("R50x1", 21843, 68_256_659L)]
    [InlineData("R101x1", 1000, 44_541_480L)]
    [InlineData("R101x1", 21843, 87_248_787L)]
    [InlineData("R50x3", 1000, 217_319_080L)]
    [InlineData("R50x3", 21843, 345_399_315L)]
    [InlineData("R101x3", 1000, 387_934_888L)]
    [InlineData("R101x3", 21843, 516_015_123L)]
    [InlineData("R152x2", 1000, 236_335_208L)]
    [InlineData("R152x2", 21843, 321_728_979L)]
    [InlineData("R152x4", 1000, 936_533_224L)]
    [InlineData("R152x4", 21843, 1_107_299_923L)]
    public void EveryVariantHasTheReferenceParameterCount(string arch, int classes, long expected)
    {
        var previous = get_default_device();
        set_default_device(META);
        try
        {
            using var model = new ResNetV2(KnownModels.Get(arch), classes);
            Assert.Equal(DeviceType.META, model.parameters().First().device_type);
            Assert.Equal(expected, model.parameters().Sum(p => p.numel()));
        }
        finally { set_default_device(previous); }
    }
}
