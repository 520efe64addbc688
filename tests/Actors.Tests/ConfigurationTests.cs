using Akka.Configuration;
using BitActors.Actors.Hosting;

namespace BitActors.Actors.Tests;

public class ConfigurationTests
{
    [Fact]
    public void TheReferenceConfigurationGivesBitsUpstreamAndHyperRuleDefaults()
    {
        var config = BitActorsConfig.Reference();
        var upstream = BitActorsConfig.Upstream(config);
        Assert.Equal(new[] { 30, 60, 80 }, upstream.Schedule.DecayEpochs);
        Assert.Equal(90, upstream.Schedule.TotalEpochs);
        Assert.Equal(1e-4, upstream.Optimizer.WeightDecay);
        var fineTune = BitActorsConfig.FineTune(config);
        Assert.Equal(0.003, fineTune.Recipe.BaseLr);
        Assert.Null(fineTune.Data.Augment);          // the HyperRule decides the resolution
        Assert.Equal(0, fineTune.Recipe.MicroBatch);
        Assert.Equal(0, fineTune.Recipe.MaxSteps);      // the HyperRule's own length
        Assert.Equal(0.03, upstream.Schedule.BaseLrPer256); // BiT's upstream rate
        Assert.Equal(0, upstream.Optimizer.MixUpAlpha);    // BiT pre-trains without MixUp (the demo departs: 0.2)
        Assert.Equal("", upstream.Data.ConsumerGroup);  // each trainer reads every partition itself
        Assert.Equal("trainers", BitActorsConfig.Upstream(ConfigurationFactory.ParseString("bitactors.upstream.consumer-group = trainers").WithFallback(config)).Data.ConsumerGroup);
        Assert.Equal(BitActors.Model.Architecture.NormKind.GroupNorm, upstream.Model.Norm);
        Assert.True(upstream.Model.WeightStandardization);
        var ablation = ConfigurationFactory.ParseString("bitactors.upstream { norm = bn, weight-standardization = false }").WithFallback(config);
        Assert.Equal(BitActors.Model.Architecture.NormKind.BatchNorm, BitActorsConfig.Upstream(ablation).Model.Norm);
        Assert.False(BitActorsConfig.Upstream(ablation).Model.WeightStandardization);
        Assert.Equal((100, 100), (upstream.Data.ConfusionMaxClasses, fineTune.Data.ConfusionMaxClasses));
        var noMatrix = ConfigurationFactory.ParseString("bitactors.upstream.confusion-max-classes = 0, bitactors.finetune.confusion-max-classes = 50").WithFallback(config);
        Assert.Equal((0, 50), (BitActorsConfig.Upstream(noMatrix).Data.ConfusionMaxClasses, BitActorsConfig.FineTune(noMatrix).Data.ConfusionMaxClasses));
    }

    [Fact]
    public void TheDemoProfileAppliesOnlyToTheDemo()
    {
        var config = BitActorsConfig.Load(environment: new Dictionary<string, string>(), demo: true);
        var demo = BitActorsConfig.FineTune(config);
        Assert.Equal(1000, demo.Recipe.MaxSteps);
        Assert.Equal(32, demo.Data.Augment!.Crop);
        Assert.Equal(64, demo.Recipe.BatchSize);
        Assert.Equal(0.01, demo.Recipe.BaseLr);         // chosen on validation (docs/demo/choices.json), for both arms
        Assert.Equal(0.01, demo.Recipe.BaseLrFor(fromScratch: true));
        Assert.Equal(["1", "5", "10", "all"], config.GetStringList("bitactors.demo.shots"));
        var upstream = BitActorsConfig.Upstream(config);
        Assert.Equal(("Tiny", 1, 64, 7200, 0.0, 32), (upstream.Model.Arch, upstream.Data.Augment.Channels, upstream.Schedule.BatchSize,
            upstream.Schedule.Steps, upstream.Optimizer.MixUpAlpha, upstream.Data.Augment.Crop));
        Assert.Equal("fashion-mnist", upstream.Data.Dataset);
        Assert.Equal([0, 1, 2, 3, 4], upstream.Data.Classes.Classes.ToArray());

        // Any later layer may change the profile by either name; without the demo the profile is not applied.
        var set = BitActorsConfig.Load(null, ["bitactors.upstream.steps=5", "bitactors.demo.finetune.max-steps=7"], new Dictionary<string, string>(), demo: true);
        Assert.Equal((5, 7), (BitActorsConfig.Upstream(set).Schedule.Steps, BitActorsConfig.FineTune(set).Recipe.MaxSteps));
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "bitactors { upstream.batch-size = 16, finetune.max-steps = 3, demo.upstream.steps = 9 }");
            var layered = BitActorsConfig.Load(file, environment: new Dictionary<string, string>(), demo: true);
            Assert.Equal((16, 9, 3, "Tiny"), (BitActorsConfig.Upstream(layered).Schedule.BatchSize, BitActorsConfig.Upstream(layered).Schedule.Steps,
                BitActorsConfig.FineTune(layered).Recipe.MaxSteps, BitActorsConfig.Upstream(layered).Model.Arch));
            var plain = BitActorsConfig.Load(file, environment: new Dictionary<string, string>());
            Assert.Equal(("R50x1", 0), (BitActorsConfig.Upstream(plain).Model.Arch, BitActorsConfig.Upstream(plain).Schedule.Steps));
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void AUserFileOverridesOnlyWhatItNames()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "bitactors.upstream { decay-epochs = [10, 23, 30, 37], total-epochs = 40 }\nbitactors.finetune.micro-batch = 128");
            var config = BitActorsConfig.Load(file);
            var upstream = BitActorsConfig.Upstream(config);
            Assert.Equal(new[] { 10, 23, 30, 37 }, upstream.Schedule.DecayEpochs);
            Assert.Equal(40, upstream.Schedule.TotalEpochs);
            Assert.Equal("R50x1", upstream.Model.Arch);
            Assert.Equal(128, BitActorsConfig.FineTune(config).Recipe.MicroBatch);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void ThePublishSectionGivesTwelvePartitionsOnAnExternalBrokerAndRefusesBadValuesByKey()
    {
        var publish = BitActorsConfig.Publish(BitActorsConfig.Reference());
        Assert.Equal((12, 0, 64), (publish.DefaultPartitions, publish.Parallelism, publish.InFlightMegabytes));
        var zero = ConfigurationFactory.ParseString("bitactors.publish.partitions = 0").WithFallback(BitActorsConfig.Reference());
        Assert.Contains("bitactors.publish.partitions", Assert.Throws<InvalidDataException>(() => BitActorsConfig.Publish(zero)).Message);
    }

    [Fact]
    public void InvalidValuesAreRefusedByKey()
    {
        var config = ConfigurationFactory.ParseString("bitactors.upstream.batch-size = 0").WithFallback(BitActorsConfig.Reference());
        var e = Assert.Throws<InvalidDataException>(() => BitActorsConfig.Upstream(config));
        Assert.Contains("batch-size", e.Message);
        var mixup = ConfigurationFactory.ParseString("bitactors.upstream.mixup = -0.1").WithFallback(BitActorsConfig.Reference());
        Assert.Contains("mixup", Assert.Throws<InvalidDataException>(() => BitActorsConfig.Upstream(mixup)).Message);
        var norm = ConfigurationFactory.ParseString("bitactors.upstream.norm = layernorm").WithFallback(BitActorsConfig.Reference());
        Assert.Contains("bitactors.upstream.norm", Assert.Throws<InvalidDataException>(() => BitActorsConfig.Upstream(norm)).Message);
        var steps = ConfigurationFactory.ParseString("bitactors.finetune.max-steps = -1").WithFallback(BitActorsConfig.Reference());
        Assert.Contains("max-steps", Assert.Throws<InvalidDataException>(() => BitActorsConfig.FineTune(steps)).Message);
    }
}

public class SeedSummaryTests
{
    [Fact]
    public void MedianIsTheMiddleValueOrTheMeanOfTheTwoMiddleOnes()
    {
        Assert.Equal(0.5, SeedSummary.Median([0.9, 0.1, 0.5]));
        Assert.Equal(0.4, SeedSummary.Median([0.1, 0.3, 0.5, 0.9]), 12);
    }

    [Fact]
    public void SeedsOfOneTaskShareAGroupNamedAfterIt()
    {
        var tasks = FineTuneTask.ForSeeds("transfer-5shot", "d", BitActors.Streams.Pipelines.ClassSubset.Range(0, 2), 5, [0, 1, 2], false).ToList();
        Assert.Equal(["transfer-5shot-seed0", "transfer-5shot-seed1", "transfer-5shot-seed2"], tasks.Select(t => t.Name));
        Assert.All(tasks, t => Assert.Equal("transfer-5shot", t.GroupName));
        Assert.Equal("single", FineTuneTask.ForSeeds("single", "d", BitActors.Streams.Pipelines.ClassSubset.Range(0, 2), 5, [7], false).Single().Name);
    }
}

public class KafkaClientConfigurationTests
{
    [Fact]
    public void ClientPropertiesAreFlattenedToLibrdkafkaNamesWhetherNestedOrQuoted()
    {
        var config = ConfigurationFactory.ParseString("""
            bitactors.kafka.client {
              security.protocol = SASL_SSL
              "sasl.mechanism" = SCRAM-SHA-256
              ssl { ca.location = "/etc/ssl/ca.pem" }
            }
            """).WithFallback(BitActorsConfig.Reference());
        var properties = BitActorsConfig.KafkaClientProperties(config).ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal(new Dictionary<string, string>
        {
            ["security.protocol"] = "SASL_SSL",
            ["sasl.mechanism"] = "SCRAM-SHA-256",
            ["ssl.ca.location"] = "/etc/ssl/ca.pem",
        }, properties);
        Assert.Empty(BitActorsConfig.KafkaClientProperties(BitActorsConfig.Reference()));
    }
}
