using BitActors.Actors.Hosting;
using BitActors.Model.Recipe;

namespace BitActors.Actors.Tests;

/// <summary>
/// With no configuration the project trains as BiT does. Expected values are google-research/big_transfer's
/// bit_hyperrule.py and train.py (fine-tuning) and the paper's section 3.1 (upstream), written out here.
/// </summary>
public class BitDefaultsTests
{
    private static readonly Akka.Configuration.Config Resolved = BitActorsConfig.Load(environment: new Dictionary<string, string>());

    [Fact]
    public void FineTuningFollowsTheOfficialRecipe()
    {
        var fineTune = BitActorsConfig.FineTune(Resolved);
        Assert.Equal(512, fineTune.Recipe.BatchSize);   // train.py --batch 512
        Assert.Equal(0, fineTune.Recipe.MicroBatch);    // auto: the batch split that fits the device (train.py --batch_split)
        Assert.Equal(0.003, fineTune.Recipe.BaseLr);    // train.py --base_lr 0.003
        Assert.Equal(0, fineTune.Recipe.MaxSteps);      // the rule's own steps
        Assert.Null(fineTune.Data.Augment);             // the rule's resolution
        Assert.False(fineTune.Data.PaperResolution);    // the code's 512/480
        Assert.Equal((0.9, 0.0), (HyperRule.Momentum, HyperRule.WeightDecay));
        // bit_hyperrule.get_resolution, get_schedule, get_mixup
        Assert.Equal((160, 128), (HyperRule.ResolutionFor(95, 95).Precrop, HyperRule.ResolutionFor(95, 95).Crop));
        Assert.Equal((512, 480), (HyperRule.ResolutionFor(96, 96).Precrop, HyperRule.ResolutionFor(96, 96).Crop));
        foreach (var (examples, expected) in new[] { (19_999, new[] { 100, 200, 300, 400, 500 }), (20_000, new[] { 500, 3000, 6000, 9000, 10_000 }),
                     (500_000, new[] { 500, 6000, 12_000, 18_000, 20_000 }) })
        {
            var rule = HyperRule.Schedule(examples, fineTune.Recipe.BaseLr);
            Assert.Equal(expected, new[] { rule.WarmupSteps }.Concat(rule.DecayBoundaries).Append(rule.TotalSteps).ToArray());
            Assert.Equal(0.003, rule.BaseLr);
        }
        Assert.Equal((0.0, 0.1), (HyperRule.MixUp(19_999), HyperRule.MixUp(20_000)));
    }

    [Fact]
    public void UpstreamFollowsThePaper()
    {
        var upstream = BitActorsConfig.Upstream(Resolved);
        Assert.Equal(("R50x1", 3, 224), (upstream.Model.Arch, upstream.Data.Augment.Channels, upstream.Data.Augment.Crop));
        Assert.True(upstream.Model is { Norm: BitActors.Model.Architecture.NormKind.GroupNorm, WeightStandardization: true });
        Assert.Equal((4096, 0.03, 1e-4, 0.0), (upstream.Schedule.BatchSize, upstream.Schedule.BaseLrPer256, upstream.Optimizer.WeightDecay, upstream.Optimizer.MixUpAlpha));
        Assert.Equal(0, upstream.Schedule.Steps); // 90 epochs of whatever the dataset holds
        Assert.Empty(upstream.Data.Classes.Classes); // every class of the dataset

        // ImageNet-21k's 14,197,122 images at batch 4096 for 90 epochs: lr 0.48, warmup 5000 steps, /10 at epochs 30/60/80.
        var schedule = upstream.Schedule.ToStepSchedule(14_197_122);
        Assert.Equal(311_949, schedule.TotalSteps);
        Assert.Equal(0.03 * 4096 / 256, schedule.BaseLr, 12);
        Assert.Equal(5000, schedule.WarmupSteps);
        Assert.Equal(new[] { 103_983, 207_966, 277_288 }, schedule.DecayBoundaries);
        Assert.Contains("set bitactors.upstream.steps", Assert.Throws<InvalidDataException>(() => upstream.Schedule.ToStepSchedule(null)).Message);
    }
}
