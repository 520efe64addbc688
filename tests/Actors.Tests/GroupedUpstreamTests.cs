using Akka.TestKit.Xunit2;
using BitActors.Actors;
using BitActors.Actors.Hosting;
using BitActors.Actors.Training;
using BitActors.Streams.Images;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;
using Confluent.Kafka;

namespace BitActors.Actors.Tests;

/// <summary>bitactors.upstream.consumer-group: the upstream trainer reads its split as a member of a consumer group.</summary>
[Trait("Category", "EndToEnd")]
public sealed class GroupedUpstreamTests() : TestKit(BitActorsConfig.Reference())
{
    [Fact]
    public async Task AnUpstreamRunInAConsumerGroupTrainsAndCommitsItsProgressUnderTheGroup()
    {
        await using var data = await PublishedDataset.CreateAsync(Sys, "grouped", train: 200, test: 50);
        var augment = new AugmentSettings(18, 16, 1);
        var run = new RunSpec("grouped-run", data.Kafka.Endpoint, data.Output.FullName,
            new UpstreamSettings
            {
                Data = new() { Dataset = "grouped", Classes = ClassSubset.Range(0, 5), Augment = augment, ShuffleBuffer = 32, DecodeParallelism = 2, ConsumerGroup = "trainers" },
                Model = new("Tiny"),
                Schedule = new() { BatchSize = 16, Steps = 10, BaseLrPer256 = 0.1, WarmupFraction = 0.1 },
                Loop = new() { ProgressEvery = 5 },
                Seed = 0,
            },
            new FineTuneSettings { Recipe = new() { BatchSize = 8, BaseLr = 0.003, MaxSteps = 5 }, Data = new() { Augment = augment, ShuffleBuffer = 32, DecodeParallelism = 2, EvalBatchSize = 64 }, Loop = new() { ProgressEvery = 250, MaxRestarts = 2 } },
            [new FineTuneTask("transfer-2shot", "grouped", ClassSubset.Range(5, 5), 2, 0, FromScratch: false)]);
        var reporter = CreateTestProbe();
        Sys.ActorOf(TrainingSupervisor.Props(run, reporter.Ref), "supervisor");

        var outcome = reporter.FishForMessage<object>(m => m is RunCompleted or RunFailed, TimeSpan.FromMinutes(3));
        var completed = Assert.IsType<RunCompleted>(outcome);
        Assert.Equal(10, completed.Backbone.Steps);

        // 10 steps of 16 take 160 of the 100 records of classes 0-4 a pass: epoch 0 is done and committed whole.
        using var probe = KafkaClients.CreateConsumer(data.Kafka.Endpoint, GroupEpochReaderName("trainers", 0));
        var committed = probe.Committed([new TopicPartition("bit.data.grouped.train", 0)], TimeSpan.FromSeconds(10)).Single();
        Assert.Equal(200, committed.Offset.Value);
    }

    private static string GroupEpochReaderName(string group, int epoch) => $"{group}.epoch-{epoch}";
}
