using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Streams;
using Akka.TestKit.Xunit2;
using BitActors.Actors;
using BitActors.Actors.Hosting;
using BitActors.Actors.Training;
using BitActors.Streams.Datasets;
using BitActors.Streams.Images;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;
using BitActors.Streams.Tests;
using Confluent.Kafka;

namespace BitActors.Actors.Tests;

/// <summary>The whole slice on a tiny synthetic dataset: publish → upstream → fan-out → events.</summary>
[Trait("Category", "EndToEnd")]
public sealed class EndToEndRunTests() : TestKit(BitActorsConfig.Reference())
{
    [Fact]
    public async Task UpstreamThenFanOutReportsEveryTaskAndAnnouncesTheModelsOnKafka()
    {
        await using var data = await PublishedDataset.CreateAsync(Sys, "synthetic", train: 400, test: 100);
        var kafka = data.Kafka;
        var output = data.Output;

        var augment = new AugmentSettings(18, 16, 1);
        var run = new RunSpec("test-run", kafka.Endpoint, output.FullName,
            new UpstreamSettings
            {
                Data = new() { Dataset = "synthetic", Classes = ClassSubset.Range(0, 5), Augment = augment, ShuffleBuffer = 64, DecodeParallelism = 2 },
                Model = new("Tiny"),
                Schedule = new() { BatchSize = 16, Steps = 30, BaseLrPer256 = 0.1, WarmupFraction = 0.1 },
                Loop = new() { ProgressEvery = 10 },
                Seed = 0,
            },
            new FineTuneSettings { Recipe = new() { BatchSize = 8, BaseLr = 0.003 }, Data = new() { Augment = augment, ShuffleBuffer = 32, DecodeParallelism = 2, EvalBatchSize = 64 }, Loop = new() { ProgressEvery = 250, MaxRestarts = 2 } },
            [
                new FineTuneTask("transfer-3shot", "synthetic", ClassSubset.Range(5, 5), 3, 1, FromScratch: false),
                new FineTuneTask("scratch-3shot", "synthetic", ClassSubset.Range(5, 5), 3, 1, FromScratch: true),
                new FineTuneTask("missing-data", "not-published", ClassSubset.Range(5, 5), 3, 1, FromScratch: false),
            ]);
        var reporter = CreateTestProbe();
        Sys.ActorOf(TrainingSupervisor.Props(run, reporter.Ref), "supervisor");

        var progress = reporter.FishForMessage<TrainingProgress>(m => m is TrainingProgress, TimeSpan.FromSeconds(60)); // after the phase changes
        Assert.Equal("upstream", progress.Task);
        var completed = reporter.FishForMessage<RunCompleted>(m => m is RunCompleted, TimeSpan.FromMinutes(4));

        Assert.True(File.Exists(completed.Backbone.Checkpoint.Path));
        Assert.Equal(30, completed.Backbone.Steps);
        Assert.Equal(50, completed.Backbone.UpstreamTest.Examples); // test images of classes 0-4
        Assert.Equal(2, completed.Completed.Count);
        Assert.All(completed.Completed, c =>
        {
            Assert.Equal(500, c.Steps);         // HyperRule: under 20k examples
            Assert.Equal(15, c.Examples);       // 3 shots x 5 classes
            Assert.Equal(50, c.Test.Examples);  // test images of classes 5-9
            Assert.True(c.Test.Top1 > 0.3, $"{c.Task.Name}: top-1 {c.Test.Top1} is not above chance (0.2)");
            Assert.True(File.Exists(c.Checkpoint.Path));
        });
        // Each task checkpointed before every phase of its schedule (for retries) and deleted those once its model was saved.
        var checkpoints = Path.Combine(output.FullName, "checkpoints");
        Assert.Empty(Directory.GetFiles(checkpoints, "test-run-*shot-step*"));
        Assert.True(File.Exists(Path.Combine(checkpoints, "test-run-transfer-3shot.safetensors")));
        var failed = Assert.Single(completed.Failed);
        Assert.Equal("missing-data", failed.Task.Name);
        Assert.Contains("not-published", failed.Reason);

        var events = ReadEvents(kafka.BootstrapServers);
        Assert.Equal(["bit.backbone.ready", "bit.finetune.completed", "bit.finetune.completed", "bit.finetune.failed"],
            events.Select(e => e.Type).Order().ToArray());
        var transfer = events.Single(e => e.Subject == "test-run/transfer-3shot");
        Assert.Equal("1.0", transfer.SpecVersion);
        Assert.Equal("Tiny", transfer.Data.GetProperty("architecture").GetString());
        Assert.Equal(3, transfer.Data.GetProperty("shots").GetInt32());
        Assert.Equal(completed.Completed.Single(c => c.Task.Name == "transfer-3shot").Test.Top1, transfer.Data.GetProperty("metrics").GetProperty("top1").GetDouble());
        var file = transfer.Data.GetProperty("checkpoint");
        Assert.Equal(64, file.GetProperty("sha256").GetString()!.Length);
        Assert.Equal(("safetensors", "timm"), (file.GetProperty("format").GetString(), file.GetProperty("layout").GetString()));
        // The announced file says what it is: the task's classes by name and dataset id, its crop, dataset, run and task.
        Assert.Equal(5, transfer.Data.GetProperty("class_names").GetArrayLength());
        var metadata = BitActors.Model.Checkpoints.CheckpointFiles.Inspect(new Uri(file.GetProperty("uri").GetString()!).LocalPath);
        Assert.True(metadata.FromMetadata);
        Assert.Equal(("Tiny", 1, 5, 16, "synthetic", "test-run", "transfer-3shot"), (metadata.Metadata.Arch, metadata.Metadata.Channels,
            metadata.Metadata.Classes, metadata.Metadata.Crop, metadata.Metadata.Dataset, metadata.Metadata.Run, metadata.Metadata.Task));
        Assert.Equal([5, 6, 7, 8, 9], metadata.Metadata.ClassIds!);
        Assert.Equal(transfer.Data.GetProperty("class_names").EnumerateArray().Select(n => n.GetString()), metadata.Metadata.ClassNames!);
        Assert.Equal(0.0, transfer.Data.GetProperty("hyperparameters").GetProperty("weight_decay").GetDouble());
        var confusion = transfer.Data.GetProperty("metrics").GetProperty("confusion");
        Assert.Equal(5, confusion.GetArrayLength());
        Assert.Equal(50, confusion.EnumerateArray().SelectMany(row => row.EnumerateArray()).Sum(v => v.GetInt64()));
        Assert.Equal(5, transfer.Data.GetProperty("metrics").GetProperty("per_class_top1").GetArrayLength());
    }

    [Fact]
    public async Task AnAllExamplesTaskRunsTheHyperRuleScheduleSqueezedIntoMaxSteps()
    {
        await using var data = await PublishedDataset.CreateAsync(Sys, "synthetic-all", train: 200, test: 50);
        var augment = new AugmentSettings(18, 16, 1);
        var run = new RunSpec("all-run", data.Kafka.Endpoint, data.Output.FullName,
            new UpstreamSettings
            {
                Data = new() { Dataset = "synthetic-all", Classes = ClassSubset.Range(0, 5), Augment = augment, ShuffleBuffer = 64, DecodeParallelism = 2 },
                Model = new("Tiny"),
                Schedule = new() { BatchSize = 16, Steps = 10, BaseLrPer256 = 0.1, WarmupFraction = 0.1 },
                Optimizer = new() { MixUpAlpha = 0.1 },
                Loop = new() { ProgressEvery = 10 },
                Seed = 0,
            },
            new FineTuneSettings { Recipe = new() { BatchSize = 8, BaseLr = 0.003, MaxSteps = 40 }, Data = new() { Augment = augment, ShuffleBuffer = 32, DecodeParallelism = 2, EvalBatchSize = 64 }, Loop = new() { ProgressEvery = 250, MaxRestarts = 2 } },
            [new FineTuneTask("transfer-all", "synthetic-all", ClassSubset.Range(5, 5), Shots: null, Seed: 0, FromScratch: false)]);
        var reporter = CreateTestProbe();
        Sys.ActorOf(TrainingSupervisor.Props(run, reporter.Ref), "supervisor");

        var completed = reporter.FishForMessage<RunCompleted>(m => m is RunCompleted, TimeSpan.FromMinutes(3));
        Assert.Empty(completed.Failed);
        Assert.Equal(10, completed.Backbone.Steps);
        var task = Assert.Single(completed.Completed);
        Assert.Equal(100, task.Examples);                                  // every training image of classes 5-9
        Assert.Equal(40, task.Steps);                                      // max-steps, not the rule's 500
        Assert.Equal(500, task.HyperParameters["hyperrule_steps"]);
        Assert.Equal(8, task.HyperParameters["warmup"]);                   // 100 of 500 → 8 of 40
        Assert.Equal(new[] { 16, 24, 32 }, (IEnumerable<int>)task.HyperParameters["decay_at"]);
        Assert.Equal(25, task.Test.Examples);                              // test images of classes 5-9
    }

    [Theory]
    [InlineData(0.25)]  // about 25 of the 100 training images of classes 5-9 held out
    [InlineData(0.001)] // none of them: the task reports no validation score, it does not fail
    public async Task TheValidationHoldOutIsNeverTrainedOnAndEveryModelIsEvaluatedOnIt(double fraction)
    {
        await using var data = await PublishedDataset.CreateAsync(Sys, "synthetic-val", train: 200, test: 50);
        // Image i has label i % 10: the held-out images of five classes from firstClass on.
        int HeldOf(SplitPart held, int firstClass) => Enumerable.Range(0, 200).Count(i => i % 10 >= firstClass && i % 10 < firstClass + 5 && held.Contains(i));
        var augment = new AugmentSettings(18, 16, 1);
        var run = new RunSpec("val-run", data.Kafka.Endpoint, data.Output.FullName,
            new UpstreamSettings
            {
                Data = new() { Dataset = "synthetic-val", Classes = ClassSubset.Range(0, 5), Augment = augment, ShuffleBuffer = 64, DecodeParallelism = 2, ValidationFraction = 0.25 },
                Model = new("Tiny"),
                Schedule = new() { BatchSize = 16, Steps = 10, BaseLrPer256 = 0.1, WarmupFraction = 0.1 },
                Loop = new() { ProgressEvery = 10 },
            },
            new FineTuneSettings
            {
                Recipe = new() { BatchSize = 8, BaseLr = 0.003, MaxSteps = 20 },
                Data = new() { Augment = augment, ShuffleBuffer = 32, DecodeParallelism = 2, EvalBatchSize = 64, ValidationFraction = fraction },
                Loop = new() { ProgressEvery = 250, MaxRestarts = 0 },
            },
            [new FineTuneTask("transfer-all", "synthetic-val", ClassSubset.Range(5, 5), Shots: null, Seed: 0, FromScratch: false)]);
        var reporter = CreateTestProbe();
        Sys.ActorOf(TrainingSupervisor.Props(run, reporter.Ref), "supervisor");

        var completed = reporter.FishForMessage<RunCompleted>(m => m is RunCompleted, TimeSpan.FromMinutes(3));
        Assert.Empty(completed.Failed);
        Assert.Equal(HeldOf(SplitPart.HeldOut(0.25)!, 0), completed.Backbone.Validation!.Examples); // upstream holds out 25 %
        var task = Assert.Single(completed.Completed);
        Assert.Equal(SplitPart.Training(fraction)!.Expected(100), task.Examples); // the HyperRule counts what is trained on
        Assert.Equal(25, task.Test.Examples);
        if (fraction == 0.001)
        {
            Assert.Equal(0, HeldOf(SplitPart.HeldOut(fraction)!, 5));
            Assert.Null(task.Validation);
        }
        else
        {
            Assert.InRange(HeldOf(SplitPart.HeldOut(fraction)!, 5), 10, 40);
            Assert.Equal(HeldOf(SplitPart.HeldOut(fraction)!, 5), task.Validation!.Examples);
        }
    }

    private sealed record Event(string Type, string Subject, string SpecVersion, JsonElement Data);

    private static List<Event> ReadEvents(string bootstrap)
    {
        using var consumer = KafkaClients.CreateConsumer(new KafkaEndpoint(bootstrap), "events-test");
        var tp = new TopicPartition(Topics.Models, 0);
        var high = consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10)).High.Value;
        consumer.Assign(new TopicPartitionOffset(tp, 0));
        var events = new List<Event>();
        while (events.Count < high)
        {
            var r = consumer.Consume(TimeSpan.FromSeconds(10)) ?? throw new TimeoutException("bit.models");
            var a = CloudEvents.Attributes(r.Message.Headers);
            events.Add(new Event(a["type"], a["subject"], a["specversion"], JsonDocument.Parse(Encoding.UTF8.GetString(r.Message.Value)).RootElement));
        }
        return events;
    }
}
