using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Akka.Streams;
using BitActors.Actors.Cluster;
using BitActors.Actors.FineTuning;
using BitActors.Actors.Hosting;
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
/// A 1,000-class task (one 16×16 image per class and split, a Tiny model, 2 steps, its confusion matrix kept) runs
/// through the cluster path: a coordinator node and a trainer node in two actor systems, its outcome over Akka
/// remoting. Its full matrix (over 2 MB of JSON: above remoting's default frame and Kafka's record) goes to
/// NAME.evaluation.json beside the checkpoint; the event on bit.models names that file and arrives.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class LargeTaskEventTests
{
    private const int Classes = 1000;

    [Fact]
    public async Task AThousandClassTaskRunThroughTheClusterIsAnnouncedWithItsFullEvaluationInAFileBesideTheCheckpoint()
    {
        var dir = Directory.CreateTempSubdirectory("bitactors-wide");
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
            var job = new ClusterJob("run-wide", new GivenBackbone(backbone, "Tiny", 1), new TaskPlan("wide", ClassSubset.Range(0, Classes), [null], [0]).Tasks());
            var fineTune = new FineTuneSettings
            {
                Recipe = new() { BatchSize = 8, MaxSteps = 2 },
                Data = new() { Augment = new AugmentSettings(16, 16, 1), ShuffleBuffer = 16, DecodeParallelism = 2, EvalBatchSize = 250, ConfusionMaxClasses = Classes },
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

            var completed = Assert.Single(events, e => e.Type == "bit.finetune.completed").Data;
            Assert.Equal(Classes, completed.GetProperty("classes").GetArrayLength());
            var metrics = completed.GetProperty("metrics");
            Assert.Equal(JsonValueKind.Null, metrics.GetProperty("per_class_top1").ValueKind);
            Assert.Equal(JsonValueKind.Null, metrics.GetProperty("confusion").ValueKind);
            var evaluation = metrics.GetProperty("evaluation");
            var path = new Uri(evaluation.GetProperty("uri").GetString()!).LocalPath;
            Assert.Equal(CheckpointFiles.Hash(path).Sha256, evaluation.GetProperty("sha256").GetString());
            using var file = JsonDocument.Parse(File.ReadAllBytes(path));
            var confusion = file.RootElement.GetProperty("confusion");
            Assert.Equal(Classes, confusion.GetArrayLength());
            Assert.Equal(Classes, confusion.EnumerateArray().Sum(row => row.EnumerateArray().Sum(n => n.GetInt64())));
            Assert.Equal(Classes, file.RootElement.GetProperty("per_class_top1").GetArrayLength());
            Assert.True(new FileInfo(path).Length > 2_000_000, "the matrix alone would not have fitted an event");
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

    /// <summary>The dataset "wide": one gray 16×16 PNG per class in train and test, class c's brightness c mod 256.</summary>
    private static async Task PublishAsync(ActorSystem system, EmbeddedKafka kafka)
    {
        static LabelledImage Image(int c)
        {
            using var bitmap = new SKBitmap(new SKImageInfo(16, 16, SKColorType.Gray8));
            bitmap.Erase(new SKColor((byte)(c % 256), (byte)(c % 256), (byte)(c % 256)));
            using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
            return new LabelledImage(c, [c], data.ToArray());
        }
        var splits = new[] { "train", "test" }.Select(s => new DatasetSplit(s, Classes, Image)).ToList();
        var source = new DatasetSource("wide", Enumerable.Range(0, Classes).Select(c => $"class-{c:D4}").ToList(), 16, 16, 1, false, "wide-1", splits);
        await new DatasetPublisher(kafka, system.Materializer()).PublishAsync(source);
    }
}
