using Akka.Actor;
using BitActors.Actors.Training;
using BitActors.Streams.Kafka;

namespace BitActors.Actors.Cluster;

/// <summary>
/// Everything a <see cref="TrainingSupervisor"/> needs to run the upstream pre-training as one attempt of a cluster's
/// task: a run with no fine-tune tasks of its own (the coordinator fans the backbone out), its folder and resumable
/// checkpoints in the artifact store, started from an earlier attempt's checkpoint when one was left (the supervisor
/// replays the data to that step and refuses a checkpoint of other settings).
/// </summary>
public sealed record UpstreamAttempt(RunSpec Run)
{
    /// <param name="resumeFrom">A verified local training checkpoint of an earlier attempt, or null.</param>
    public static UpstreamAttempt Of(string runId, int attempt, UpstreamSettings upstream, FineTuneSettings fineTune, KafkaEndpoint kafka, string device,
        ArtifactStore store, int checkpointEvery, string? resumeFrom)
    {
        var output = store.PathOf($"{runId}/upstream/attempt{attempt}/run");
        Directory.CreateDirectory(output);
        var settings = upstream.Loop.CheckpointEvery > 0 ? upstream : upstream with { Loop = upstream.Loop with { CheckpointEvery = checkpointEvery } };
        return new UpstreamAttempt(new RunSpec(runId, kafka, output, settings, fineTune, [], resumeFrom, device));
    }

    /// <summary>The supervisor of this attempt, reporting to <paramref name="reporter"/> (its device slot).</summary>
    public Props Props(IActorRef reporter, Func<TrainerSpec, Props>? trainerProps = null) => TrainingSupervisor.Props(Run, reporter, trainerProps);
}
