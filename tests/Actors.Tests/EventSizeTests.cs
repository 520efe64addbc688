using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit2;
using BitActors.Actors.Cluster;
using BitActors.Actors.Events;
using BitActors.Actors.Hosting;
using BitActors.Model.Checkpoints;
using BitActors.Model.Training;
using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Tests;

/// <summary>Events fit their channels: large evaluations go to a file the event names; an event too large fails with its size.</summary>
public sealed class EventSizeTests() : TestKit(BitActorsConfig.Reference())
{
    [Fact]
    public void ACompletedEventOfMoreClassesThanTheLimitNamesItsEvaluationFileInsteadOfCarryingIt()
    {
        var dir = Directory.CreateTempSubdirectory("bitactors-evaluation");
        try
        {
            var checkpoint = Path.Combine(dir.FullName, "task.safetensors");
            var completed = new FineTuneCompleted("run", new FineTuneTask("task", "d", ClassSubset.Range(0, 3), null, 0, false), "Tiny", 30, 500,
                new EvaluationResult(0.5, 1, 0.7, 6, [1, 0.5, 0], [[2, 0, 0], [1, 1, 0], [0, 2, 0]]),
                new CheckpointFiles.Saved(checkpoint, 10, new string('a', 64), "safetensors"), new Dictionary<string, object>(), TimeSpan.FromSeconds(1));

            var inline = Metrics(ModelEvent.FineTuneCompleted(completed, maxClassesInEvent: 3));
            Assert.Equal(3, inline.GetProperty("confusion").GetArrayLength());
            Assert.Equal(JsonValueKind.Null, inline.GetProperty("evaluation").ValueKind);
            Assert.False(File.Exists(EvaluationFile.PathBeside(checkpoint)));

            var referenced = Metrics(ModelEvent.FineTuneCompleted(completed, maxClassesInEvent: 2));
            Assert.Equal(JsonValueKind.Null, referenced.GetProperty("confusion").ValueKind);
            Assert.Equal(JsonValueKind.Null, referenced.GetProperty("per_class_top1").ValueKind);
            var file = Path.Combine(dir.FullName, "task.evaluation.json");
            Assert.Equal(new Uri(file).AbsoluteUri, referenced.GetProperty("evaluation").GetProperty("uri").GetString());
            Assert.Equal(CheckpointFiles.Hash(file).Sha256, referenced.GetProperty("evaluation").GetProperty("sha256").GetString());
            using var written = JsonDocument.Parse(File.ReadAllText(file));
            Assert.Equal(2, written.RootElement.GetProperty("confusion")[2][1].GetInt64());
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public async Task AnEventLargerThanAKafkaRecordFailsWithItsSizeInsteadOfVanishing()
    {
        using var kafka = new EmbeddedKafka();
        await kafka.EnsureTopicAsync(new TopicSpec(Topics.Models, 1));
        var publisher = Sys.ActorOf(ModelEventsPublisher.Props(kafka.Endpoint));

        publisher.Tell(new ModelEvent(ModelEvent.FineTuneCompletedType, "run/huge", new { blob = new string('x', 1_200_000) }));
        var failure = await Assert.ThrowsAsync<InvalidDataException>(() => publisher.Ask<object>(new FlushEvents(), TimeSpan.FromSeconds(20)));

        Assert.Matches(@"the event is 1,200,\d{3} bytes, over the producer's message\.max\.bytes \(1,000,000\)", failure.Message);
    }

    [Fact]
    public void TheLimitsAreConfiguredWithDefaultsThatFitEveryChannel()
    {
        var reference = BitActorsConfig.Reference();
        Assert.Equal(100, BitActorsConfig.FineTune(reference).MaxClassesInEvent);
        Assert.Equal(2L << 20, ClusterSettings.From(reference).MaximumFrameSize);
        var set = ConfigurationFactory.ParseString("bitactors.events.max-classes-in-event = 7, bitactors.cluster.maximum-frame-size = 8MiB").WithFallback(reference);
        Assert.Equal(7, BitActorsConfig.FineTune(set).MaxClassesInEvent);
        Assert.Equal(8L << 20, ClusterSettings.From(set).MaximumFrameSize);
        var tiny = ConfigurationFactory.ParseString("bitactors.cluster.maximum-frame-size = 1000b").WithFallback(reference);
        Assert.Contains("at least 32000 bytes", Assert.Throws<InvalidDataException>(() => ClusterSettings.From(tiny)).Message);
    }

    private static JsonElement Metrics(ModelEvent e) => JsonSerializer.SerializeToElement(e.Data, EvaluationFile.Json).GetProperty("metrics");
}
