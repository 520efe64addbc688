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
