using BitActors.Model.Recipe;

namespace BitActors.Model.Tests;

public class RecipeTests
{
    [Fact]
    public void HyperRuleScheduleWarmsUpThenDividesByTenAtEachBoundary()
    {
        var s = HyperRule.Schedule(datasetSize: 50);
        Assert.Equal(0.0, s.LearningRate(0));
        Assert.Equal(0.003 * 50 / 100, s.LearningRate(50)!.Value, 12);
        Assert.Equal(0.003, s.LearningRate(100)!.Value, 12);
        // bit_hyperrule.get_lr divides for supports strictly below the step.
        Assert.Equal(0.003, s.LearningRate(200)!.Value, 12);
        Assert.Equal(0.0003, s.LearningRate(201)!.Value, 12);
        Assert.Equal(0.0003, s.LearningRate(300)!.Value, 12);
        Assert.Equal(0.00003, s.LearningRate(301)!.Value, 12);
        Assert.Equal(0.000003, s.LearningRate(499)!.Value, 12);
        Assert.Null(s.LearningRate(500));
    }

    [Theory]
    [InlineData(1, new[] { 100, 200, 300, 400, 500 })]
    [InlineData(19_999, new[] { 100, 200, 300, 400, 500 })]
    [InlineData(20_000, new[] { 500, 3000, 6000, 9000, 10_000 })]
    [InlineData(499_999, new[] { 500, 3000, 6000, 9000, 10_000 })]
    [InlineData(500_000, new[] { 500, 6000, 12_000, 18_000, 20_000 })]
    public void HyperRuleSupportsMatchBitHyperrulePyAtTheBoundaries(int size, int[] supports)
    {
        var (warmup, decays, total) = HyperRule.Supports(size);
        Assert.Equal(supports, new[] { warmup }.Concat(decays).Append(total).ToArray());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void HyperRuleRefusesADatasetWithNoExamplesInsteadOfScheduling500Steps(int size)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => HyperRule.Supports(size));
        Assert.Contains("at least one training example", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => HyperRule.Schedule(size));
    }

    [Theory]
    [InlineData(19_999, 500, 0.0)]
    [InlineData(20_000, 10_000, 0.1)]
    [InlineData(499_999, 10_000, 0.1)]
    [InlineData(500_000, 20_000, 0.1)]
    public void HyperRuleStepsAndMixUpFollowDatasetSize(int size, int steps, double mixup)
    {
        Assert.Equal(steps, HyperRule.Supports(size).Total);
        Assert.Equal(mixup, HyperRule.MixUp(size));
    }

    [Fact]
    public void HyperRuleResolutionDependsOnImageArea()
    {
        Assert.Equal(new HyperRule.Resolution(160, 128), HyperRule.ResolutionFor(28, 28));
        Assert.Equal(new HyperRule.Resolution(160, 128), HyperRule.ResolutionFor(95, 95));
        Assert.Equal(new HyperRule.Resolution(512, 480), HyperRule.ResolutionFor(96, 96));
        Assert.Equal(new HyperRule.Resolution(448, 384), HyperRule.ResolutionFor(96, 96, paperVariant: true));
        Assert.Equal(new HyperRule.Resolution(160, 128), HyperRule.ResolutionFor(95, 95, paperVariant: true));
        Assert.Equal(new HyperRule.Resolution(448, 384), HyperRule.ResolutionFor(224, 224, paperVariant: true));
    }

    [Fact]
    public void UpstreamScheduleScalesLrWithBatchAndDecaysAtEpochFractions()
    {
        var s = StepSchedule.Upstream(batchSize: 128, totalSteps: 900);
        Assert.Equal(0.015, s.BaseLr, 12);
        Assert.Equal(new[] { 300, 600, 800 }, s.DecayBoundaries);
        Assert.Equal(0.015, s.LearningRate(300)!.Value, 12);
        Assert.Equal(0.0015, s.LearningRate(301)!.Value, 12);
        Assert.Equal(3, s.Phase(650));
    }

    [Fact]
    public void AScheduleScaledToFewerStepsKeepsTheShareOfWarmupAndEveryDecay()
    {
        var rule = HyperRule.Schedule(datasetSize: 30_000);        // 10k steps: warmup 500, ÷10 at 3k/6k/9k
        var scaled = rule.ScaledTo(1500);
        Assert.Equal(1500, scaled.TotalSteps);
        Assert.Equal(75, scaled.WarmupSteps);
        Assert.Equal(new[] { 450, 900, 1350 }, scaled.DecayBoundaries);
        Assert.Equal(rule.BaseLr, scaled.BaseLr);
        Assert.Equal(0.003, scaled.LearningRate(450)!.Value, 12);
        Assert.Equal(0.0003, scaled.LearningRate(451)!.Value, 12);
        Assert.Null(scaled.LearningRate(1500));
        // Already short enough: unchanged, the same object.
        var fewShot = HyperRule.Schedule(datasetSize: 50);
        Assert.Same(fewShot, fewShot.ScaledTo(1500));
        Assert.Throws<ArgumentOutOfRangeException>(() => rule.ScaledTo(0));
    }

    [Fact]
    public void UpstreamScheduleTakesBitLDecayEpochs()
    {
        var s = StepSchedule.Upstream(batchSize: 4096, totalSteps: 4000, warmupFraction: 0.1, decayEpochs: StepSchedule.BitL.At, totalEpochs: StepSchedule.BitL.Of);
        Assert.Equal(0.48, s.BaseLr, 12);                 // 0.03 × 4096/256
        Assert.Equal(new[] { 1000, 2300, 3000, 3700 }, s.DecayBoundaries);
        Assert.Equal(400, s.WarmupSteps);
        Assert.Throws<ArgumentException>(() => StepSchedule.Upstream(64, 100, decayEpochs: [95], totalEpochs: 90));
    }

    [Fact]
    public void FewShotDrawIsSeededAndIndependentOfArrivalOrder()
    {
        var items = Enumerable.Range(0, 1000).Select(i => (Id: (long)i, Label: i % 5)).ToArray();
        var a = FewShotSampler.Sample(items, x => x.Id, x => x.Label, 10, seed: 3);
        var b = FewShotSampler.Sample(items.Reverse(), x => x.Id, x => x.Label, 10, seed: 3);
        var c = FewShotSampler.Sample(items, x => x.Id, x => x.Label, 10, seed: 4);
        Assert.Equal(50, a.Count);
        Assert.All(a.GroupBy(x => x.Label), g => Assert.Equal(10, g.Count()));
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void MixUpLambdaFollowsBetaOfAlphaAlpha()
    {
        var random = new Random(0);
        var draws = Enumerable.Range(0, 20_000).Select(_ => MixUp.SampleLambda(0.1, random)).ToArray();
        Assert.All(draws, l => Assert.InRange(l, 0.0, 1.0));
        Assert.Equal(0.5, draws.Average(), 2);                       // symmetric: E[λ] = 1/2
        var variance = draws.Select(l => (l - 0.5) * (l - 0.5)).Average();
        Assert.Equal(1.0 / (4 * (2 * 0.1 + 1)), variance, 2);       // Var = 1/(4(2α+1)) for Beta(α, α)
        Assert.Equal(1.0, MixUp.SampleLambda(0.0, random));
    }

    [Fact]
    public void FewShotRefusesAClassWithTooFewExamples()
    {
        var items = new[] { (Id: 1L, Label: 0), (Id: 2L, Label: 1) };
        var e = Assert.Throws<InvalidOperationException>(() => FewShotSampler.Sample(items, x => x.Id, x => x.Label, 2, 0));
        Assert.Contains("class 0", e.Message);
    }
}
