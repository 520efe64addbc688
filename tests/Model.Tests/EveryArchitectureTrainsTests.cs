using BitActors.Model.Architecture;
using BitActors.Model.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace BitActors.Model.Tests;

/// <summary>
/// One training step (forward, backward, SGD update) of every known architecture on the CPU at 32 px: the loss is
/// finite and every parameter tensor moved. This is the step that died with SIGFPE in oneDNN on AVX-512 AMD hosts
/// (the projection shortcut's backward pass). The small architectures run with the fast tests (2 to 7 s each on
/// 2 cores), the wide ones (211M to 928M parameters) on their own: R152x4 takes 70 to 100 s and 12.5 GB at its peak.
/// </summary>
public abstract class EveryArchitectureTrainsTests(ITestOutputHelper output)
{
    protected void TrainsOneStep(string arch, int batch)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        manual_seed(21);
        using var classifier = new Classifier(new ResNetV2(KnownModels.Get(arch), 3), CPU);
        var parameters = classifier.Model.named_parameters().ToArray();
        // Up to 256 evenly spaced elements of each parameter: enough to see it move, small beside R152x4's weights.
        var before = parameters.Select(p => Sample(p.parameter)).ToArray();
        using var images = randn(batch, 3, 32, 32);
        using var labels = tensor(Enumerable.Range(0, batch).Select(i => (long)(i % 3)).ToArray());
        var result = classifier.Step(0, images, labels, 0.1);

        Assert.True(double.IsFinite(result.Loss), $"{arch}: loss {result.Loss}");
        for (int i = 0; i < parameters.Length; i++)
        {
            using var after = Sample(parameters[i].parameter);
            Assert.True(after.isfinite().all().item<bool>(), $"{arch}: {parameters[i].name} is not finite after the step");
            Assert.True(after.ne(before[i]).any().item<bool>(), $"{arch}: {parameters[i].name} did not change");
            before[i].Dispose();
        }
        output.WriteLine($"{arch}: {parameters.Sum(p => p.parameter.numel()):N0} parameters, batch {batch} at 32 px: loss {result.Loss:F3}, {clock.Elapsed.TotalSeconds:F1} s");
    }

    private static Tensor Sample(Tensor parameter)
    {
        using var noGrad = no_grad();
        using var flat = parameter.detach().flatten();
        var n = flat.shape[0];
        return flat.slice(0, 0, n, Math.Max(1, n / 256)).clone();
    }
}

public sealed class SmallArchitecturesTrainTests(ITestOutputHelper output) : EveryArchitectureTrainsTests(output)
{
    [Theory]
    [InlineData("Tiny")]
    [InlineData("Small")]
    [InlineData("R50x1")]
    [InlineData("R101x1")]
    public void OneStepOnTheCpu(string arch) => TrainsOneStep(arch, batch: 2);

    /// <summary>A new architecture must join one of the two lists.</summary>
    [Fact]
    public void EveryKnownArchitectureIsCovered() =>
        Assert.Equal(KnownModels.All.Keys.Order(), new[] { "Tiny", "Small", "R50x1", "R101x1", "R50x3", "R101x3", "R152x2", "R152x4" }.Order());
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class WideArchitecturesCollection
{
    public const string Name = "wide architectures";
}

[Trait("Category", "EndToEnd")]
[Collection(WideArchitecturesCollection.Name)]
public sealed class WideArchitecturesTrainTests(ITestOutputHelper output) : EveryArchitectureTrainsTests(output)
{
    [Theory]
    [InlineData("R50x3")]
    [InlineData("R101x3")]
    [InlineData("R152x2")]
    [InlineData("R152x4")]
    public void OneStepOnTheCpu(string arch) => TrainsOneStep(arch, batch: 1);
}
