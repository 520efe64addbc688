using System.Text.Json;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using BitActors.Actors.Cluster;
using BitActors.Actors.FineTuning;
using BitActors.Actors.Hosting;
using BitActors.Model.Architecture;
using BitActors.Model.Checkpoints;
using BitActors.Model.Training;
using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Tests.Cluster;

/// <summary>
/// Coordinator tests with test probes as trainer devices: an embedded broker with bit.models, an artifact store in a
/// folder of the test's own, a tiny backbone, resumable checkpoints as small files in the store, bit.models read back.
/// </summary>
public abstract class CoordinatorTestKit() : TestKit(BitActorsConfig.Reference())
{
    /// <summary>Two 2-shot tasks of the held-out classes: <c>transfer-2shot-seed0</c> and <c>transfer-2shot-seed1</c>.</summary>
    protected static readonly IReadOnlyList<FineTuneTask> Tasks = new TaskPlan("tiny", ClassSubset.Range(5, 5), [2], [0, 1]).Tasks();

    private readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("bitactors-coordinator");
    protected readonly EmbeddedKafka Kafka = new();

    protected ArtifactStore Store => ArtifactStore.At(Path.Combine(dir.FullName, "store"));

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (!disposing) return;
        Kafka.Dispose();
        dir.Delete(recursive: true);
    }

    /// <summary>Creates bit.models and returns a tiny backbone saved in the test's folder.</summary>
    protected async Task<GivenBackbone> BackboneAsync()
    {
        await Kafka.EnsureTopicAsync(new TopicSpec(Topics.Models, 1));
        var path = Path.Combine(dir.FullName, "backbone.bin");
        using (var model = new ResNetV2(KnownModels.Get("Tiny", 1), 5)) CheckpointFiles.Save(model, path);
        return new GivenBackbone(path, "Tiny", 1);
    }

    protected IActorRef Coordinator(ClusterJob job, string name) => Sys.ActorOf(FineTuneCoordinator.Props(job, Kafka.Endpoint, Store), name);

    /// <summary>Stops a coordinator, as its node going would, and waits until it has stopped.</summary>
    protected void Stop(IActorRef coordinator)
    {
        Watch(coordinator);
        Sys.Stop(coordinator);
        ExpectTerminated(coordinator);
    }

    /// <summary>A resumable checkpoint as a trainer would leave it: weights and state files in the store, described by their sha256.</summary>
    protected TaskCheckpoint Checkpoint(string runId, string taskId, int attempt, int step)
    {
        var weights = Store.PathOf($"{runId}/tasks/{taskId}/attempt{attempt}-step{step}.bin");
        File.WriteAllBytes(weights, [1, 2, (byte)step]);
        File.WriteAllBytes(TrainingCheckpoint.StatePath(weights), [3, 4, (byte)step]);
        return new TaskCheckpoint(Store.Describe(weights), Store.Describe(TrainingCheckpoint.StatePath(weights)), step);
    }

    protected List<(string Type, string Subject, JsonElement Data)> Announced() => Announced(Kafka.BootstrapServers);

    /// <summary>Every event on bit.models (one partition), as (type, subject, data).</summary>
    public static List<(string Type, string Subject, JsonElement Data)> Announced(string bootstrapServers) =>
        ModelEventsLog.ReadToEnd(new KafkaEndpoint(bootstrapServers), TimeSpan.FromSeconds(10))
            .Select(e => (e.Type!, e.Subject!, JsonDocument.Parse(e.Data).RootElement.Clone())).ToList();
}
