using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Akka.Streams;
using BitActors.Actors.Cluster;
using BitActors.Actors.FineTuning;
using BitActors.Actors.Hosting;
using BitActors.Actors.Telemetry;
using BitActors.Model.Architecture;
using BitActors.Model.Checkpoints;
using BitActors.Streams.Datasets;
using BitActors.Streams.Images;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;
using BitActors.Streams.Tests;
using SkiaSharp;
using static BitActors.Actors.Tests.Cluster.CoordinatorTestKit;

namespace BitActors.Actors.Tests.Cluster;

/// <summary>
/// A task run through the cluster path (a coordinator node and a trainer node in two actor systems) leaves its
/// metrics.jsonl and a TensorBoard event file in its folder of the artifact store, and the two agree.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class ClusterTaskFilesTests
{
    private const int Classes = 4;

    [Fact]
    public async Task AClusterTaskWritesItsMetricsAndTensorBoardFilesToItsFolderInTheArtifactStore()
    {
        var dir = Directory.CreateTempSubdirectory("bitactors-taskfiles");
        using var kafka = new EmbeddedKafka();
        var nodes = new List<BitActorsHost>();
        try
        {
            await kafka.EnsureTopicAsync(new TopicSpec(Topics.Models, 1));
            var seedPort = FreePorts.One();
            var coordinator = Node(seedPort, "coordinator", seedPort);
            nodes.Add(coordinator);
            await PublishAsync(coordinator.System, kafka);
            var backbone = Path.Combine(dir.FullName, "backbone.bin");
            using (var model = new ResNetV2(KnownModels.Get("Tiny", 1), 5)) CheckpointFiles.Save(model, backbone);
            var store = ArtifactStore.At(Path.Combine(dir.FullName, "store"));
            var job = new ClusterJob("run-files", new GivenBackbone(backbone, "Tiny", 1), new TaskPlan("files", ClassSubset.Range(0, Classes), [null], [0]).Tasks());
            var fineTune = new FineTuneSettings
            {
                Recipe = new() { BatchSize = 4, MaxSteps = 3 },
                Loop = new() { ProgressEvery = 1 },
                Data = new() { Augment = new AugmentSettings(16, 16, 1), ShuffleBuffer = 8, DecodeParallelism = 1, EvalBatchSize = 16 },
            };
            ClusterNode.Start(coordinator.System, ClusterSettings.From(Config(seedPort, "coordinator", seedPort)), job, kafka.Endpoint, fineTune, store);
            var trainer = Node(0, "trainer", seedPort);
            nodes.Add(trainer);
            ClusterNode.Start(trainer.System, ClusterSettings.From(Config(0, "trainer", seedPort)), job, kafka.Endpoint, fineTune, store);

            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
            List<(string Type, string Subject, JsonElement Data)> events = [];
            while (DateTime.UtcNow < deadline && !events.Any(e => e.Type == "bit.finetune.completed"))
            {
                await Task.Delay(1000);
                events = Announced(kafka.BootstrapServers);
            }

            Assert.Contains(events, e => e.Type == "bit.finetune.completed");
            var folder = Assert.Single(Directory.GetDirectories(store.PathOf("run-files/tasks")));
            var lines = MetricsLog.Read(Path.Combine(folder, MetricsLog.File));
            Assert.Equal([1, 2, 3], lines.Where(l => !l.IsTest).Select(l => l.Step));
            Assert.Single(lines, l => l.IsTest);
            TensorBoardEvents.AssertAgree(folder);
        }
        finally
        {
            foreach (var node in Enumerable.Reverse(nodes)) await node.StopAsync();
            foreach (var node in nodes) node.Dispose();
            dir.Delete(recursive: true);
        }
    }

    private static Config Config(int port, string roles, int seedPort) => ConfigurationFactory.ParseString($$"""
        bitactors.cluster {
          port = {{port}}
          roles = [{{roles}}]
          seed-nodes = ["akka.tcp://bitactors@127.0.0.1:{{seedPort}}"]
          trainer { devices = [cpu], request-interval = 1s }
        }
        """).WithFallback(BitActorsConfig.Reference());

    private static BitActorsHost Node(int port, string roles, int seedPort)
    {
        var config = Config(port, roles, seedPort);
        return BitActorsHost.StartNode(config, ClusterSettings.From(config));
    }

    /// <summary>The dataset "files": four gray 16×16 PNGs per class in train and test, class c's brightness 60c.</summary>
    private static async Task PublishAsync(ActorSystem system, EmbeddedKafka kafka)
    {
        static LabelledImage Image(int i)
        {
            var c = i % Classes;
            using var bitmap = new SKBitmap(new SKImageInfo(16, 16, SKColorType.Gray8));
            bitmap.Erase(new SKColor((byte)(60 * c), (byte)(60 * c), (byte)(60 * c)));
            using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
            return new LabelledImage(i, [c], data.ToArray());
        }
        var splits = new[] { "train", "test" }.Select(s => new DatasetSplit(s, 4 * Classes, Image)).ToList();
        var source = new DatasetSource("files", Enumerable.Range(0, Classes).Select(c => $"class-{c}").ToList(), 16, 16, 1, false, "files-1", splits);
        await new DatasetPublisher(kafka, system.Materializer()).PublishAsync(source);
    }
}
