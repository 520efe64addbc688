using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Akka.Streams;
using Akka.TestKit.Xunit2;
using BitActors.Actors.Cluster;
using BitActors.Actors.FineTuning;
using BitActors.Actors.Hosting;
using BitActors.Actors.Tests.Fakes;
using BitActors.Actors.Training;
using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;
using BitActors.Streams.Tests;
using SkiaSharp;

namespace BitActors.Actors.Tests;

/// <summary>
/// One backbone, two downstream datasets on the embedded broker: <c>small</c> (10 classes of 16×16 IDX images) and
/// <c>large</c> (3 classes of 100×100 PNGs). The run's one fan-out trains tasks of both (fake trainers), each with the
/// HyperRule of its own dataset (resolution 128 or 480, its own step cap), and announces one event per task naming its
/// dataset; a cluster job reads the same suite.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class SuiteFanOutTests() : TestKit(BitActorsConfig.Reference())
{
    private static readonly IReadOnlyList<int?> AllShots = [null];
    private static readonly IReadOnlyList<int> SeedZero = [0];

    private const string Suite = """
        suite.datasets = [ { name = small, shots = [2], seeds = [0, 1], max-steps = 3 }, { name = large, max-steps = 5 } ]
        """;

    private static async Task PublishAsync(ActorSystem system, EmbeddedKafka kafka, DirectoryInfo work)
    {
        var idx = TestData.WriteIdx(train: 60, test: 10, size: 16);
        try
        {
            var publisher = new DatasetPublisher(kafka, system.Materializer());
            await publisher.PublishAsync(IdxDataset.Load("small", idx.FullName));
            await publisher.PublishAsync(ImageFolderDataset.Load("large", LargeImages(work.FullName)));
        }
        finally { idx.Delete(true); }
    }

    /// <summary>An ImageFolder tree of 3 classes of 100×100 PNGs: 4 training images and 1 test image per class.</summary>
    private static string LargeImages(string parent)
    {
        var root = Path.Combine(parent, "large");
        foreach (var (split, count) in new[] { ("train", 4), ("test", 1) })
            for (int c = 0; c < 3; c++)
            {
                var dir = Directory.CreateDirectory(Path.Combine(root, split, $"c{c}")).FullName;
                for (int i = 0; i < count; i++)
                {
                    using var bitmap = new SKBitmap(100, 100);
                    bitmap.Erase(new SKColor((byte)(c * 90), (byte)(i * 50), 30));
                    using var png = bitmap.Encode(SKEncodedImageFormat.Png, 90);
                    File.WriteAllBytes(Path.Combine(dir, $"{i}.png"), png.ToArray());
                }
            }
        return root;
    }

    private static string Backbone(string folder)
    {
        var path = Path.Combine(folder, "backbone.safetensors");
        using var model = new BitActors.Model.Architecture.ResNetV2(BitActors.Model.Architecture.KnownModels.Get("Tiny", 1), 5);
        BitActors.Model.Checkpoints.CheckpointFiles.Save(model, path);
        return path;
    }

    [Fact]
    public async Task TwoDatasetsFanOutToTasksOfBothEachWithItsOwnHyperRuleAndOneEventNamingItsDataset()
    {
        using var kafka = new EmbeddedKafka();
        var work = Directory.CreateTempSubdirectory("bitactors-suite-run");
        try
        {
            await kafka.EnsureTopicAsync(new TopicSpec(Topics.Models, 1));
            await PublishAsync(Sys, kafka, work);
            var suite = TransferSuite.From(ConfigurationFactory.ParseString(Suite), "suite", AllShots, SeedZero);
            var tasks = suite.Tasks(name => DatasetCatalog.TryRead(kafka.Endpoint, name), scratch: true, "--suite", kafka.BootstrapServers);
            Assert.Equal(6, tasks.Count);

            var log = new TrainerLog();
            var run = new RunSpec("suite-run", kafka.Endpoint, Path.Combine(work.FullName, "out"),
                new UpstreamSettings
                {
                    Data = new() { Dataset = "small", Classes = ClassSubset.Range(0, 5), Augment = new(16, 16, 1), ShuffleBuffer = 8, DecodeParallelism = 1 },
                    Model = new("Tiny"),
                    Schedule = new() { BatchSize = 4, Steps = 1, BaseLrPer256 = 0.1, WarmupFraction = 0.1 },
                    Seed = 0,
                },
                // No Augment: each task takes the HyperRule's resolution for its own dataset.
                new FineTuneSettings { Recipe = new() { BatchSize = 4, BaseLr = 0.003, MaxSteps = 50 }, Data = new() { ShuffleBuffer = 8, DecodeParallelism = 1, EvalBatchSize = 8 } },
                tasks, Backbone: new GivenBackbone(Backbone(work.FullName), "Tiny", 1));
            var reporter = CreateTestProbe();
            var seen = new List<object>();
            Sys.ActorOf(TrainingSupervisor.Props(run, reporter.Ref, dispatcherProps: (r, rep) => FineTuneDispatcher.Props(r, rep, FakeTrainer.Factory(log))));
            reporter.FishForMessage(m => { seen.Add(m); return m is RunCompleted or RunFailed; }, TimeSpan.FromMinutes(3));

            var completed = Assert.IsType<RunCompleted>(seen.Last());
            Assert.Empty(completed.Failed);
            Assert.Equal(tasks.Select(t => t.Name).Order(), completed.Completed.Select(c => c.Task.Name).Order());
            int Number(FineTuneCompleted c, string key) => Convert.ToInt32(c.HyperParameters[key]);
            foreach (var c in completed.Completed)
            {
                var (crop, steps, classes) = c.Task.Dataset == "small" ? (128, 3, 10) : (480, 5, 3);
                Assert.Equal((crop, steps, steps, classes), (Number(c, "crop"), Number(c, "steps"), c.Steps, c.Task.Classes.Count));
                Assert.StartsWith(c.Task.Dataset + "-", c.Task.Name);
            }
            Assert.Equal(20, completed.Completed.Where(c => c.Task.Dataset == "small").Select(c => c.Examples).Distinct().Single()); // 2 shots × 10 classes
            Assert.Equal(12, completed.Completed.Where(c => c.Task.Dataset == "large").Select(c => c.Examples).Distinct().Single());

            var events = ModelEventsLog.ReadToEnd(kafka.Endpoint, TimeSpan.FromSeconds(20)).Where(e => e.Type == "bit.finetune.completed")
                .Select(e => JsonDocument.Parse(e.Data).RootElement).Select(d => (Task: d.GetProperty("task").GetString()!, Dataset: d.GetProperty("dataset").GetString()!)).ToList();
            Assert.Equal(completed.Completed.Select(c => (c.Task.Name, c.Task.Dataset)).Order(), events.Order());
        }
        finally { work.Delete(true); }
    }

    [Fact]
    public async Task AClusterJobReadsTheSameSuiteIntoOneQueueAndRefusesAnUnknownDatasetNamingIt()
    {
        using var kafka = new EmbeddedKafka();
        var work = Directory.CreateTempSubdirectory("bitactors-suite-job");
        try
        {
            await PublishAsync(Sys, kafka, work);
            var backbone = Backbone(work.FullName);
            ClusterJob? Job(string job) => ClusterJobs.From(ConfigurationFactory.ParseString($"bitactors.cluster.job {{ backbone = \"{backbone}\", {job} }}")
                .WithFallback(BitActorsConfig.Reference()), kafka.Endpoint);

            var job = Job("suite { " + Suite.Replace("suite.", "") + " }")!;
            Assert.Equal(["small-transfer-2shot-seed0", "small-transfer-2shot-seed1", "large-transfer-all"], job.Tasks.Select(t => t.Name));
            Assert.Equal([3, 3, 5], job.Tasks.Select(t => ClusterTask.Of(t).ToFineTuneTask().MaxSteps!.Value));
            Assert.Equal(job.RunId, Job("suite { " + Suite.Replace("suite.", "") + " }")!.RunId);

            var names = Job("dataset = \"small,large\", shots = [1]")!;
            Assert.Equal(["small-transfer-1shot", "large-transfer-1shot"], names.Tasks.Select(t => t.Name));
            Assert.NotEqual(job.RunId, names.RunId);

            Assert.Contains("dataset 'pets' is not published",
                Assert.Throws<InvalidDataException>(() => Job("dataset = \"small,pets\"")).Message);
            Assert.Contains("bitactors.cluster.job.classes is for a single dataset",
                Assert.Throws<InvalidDataException>(() => Job("dataset = \"small,large\", classes = [1]")).Message);
            Assert.Contains("unknown key 'bitactors.cluster.job.suite.datasets[0].seed'",
                Assert.Throws<InvalidDataException>(() => Job("suite.datasets = [ { name = small, seed = [1] } ]")).Message);
        }
        finally { work.Delete(true); }
    }
}
