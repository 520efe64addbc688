using Akka.Actor;
using Akka.Event;
using BitActors.Actors.Training;

namespace BitActors.Actors.Cluster;

/// <summary>The upstream attempt trained, evaluated and saved the backbone (in the artifact store).</summary>
public sealed record WorkerUpstreamFinished(ClusterBackbone Backbone);

/// <summary>The upstream attempt failed (its supervisor's own restarts spent).</summary>
public sealed record WorkerFailed(string Reason);

/// <summary>
/// The upstream pre-training as one task of the cluster: a <see cref="TrainingSupervisor"/> on this trainer node with
/// no fine-tune tasks of its own, its resumable checkpoints written into the artifact store and reported to the
/// parent as they come, started from such a checkpoint when an earlier attempt's node was lost (the supervisor
/// replays the data to that step and refuses a checkpoint of other settings). The finished backbone is reported for
/// the coordinator to fan out.
/// </summary>
public sealed class UpstreamAttempt : ReceiveActor
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly RunSpec _run;
    private readonly ArtifactStore _store;
    private BackboneReady? _backbone;

    public UpstreamAttempt(RunSpec run, ArtifactStore store)
    {
        (_run, _store) = (run, store);
        Receive<TrainingCheckpointed>(m => Context.Parent.Tell(m));
        Receive<BackboneReady>(b => _backbone = b);
        Receive<RunCompleted>(_ =>
        {
            var b = _backbone!;
            Context.Parent.Tell(new WorkerUpstreamFinished(ClusterBackbone.Of(_store.Describe(b.Checkpoint.Path), b.Arch, b.InChannels, b.Norm, b.WeightStandardization)));
            Context.Stop(Self);
        });
        Receive<RunFailed>(f =>
        {
            Context.Parent.Tell(new WorkerFailed(f.Reason));
            Context.Stop(Self);
        });
        Receive<TrainingProgress>(p => _log.Info("upstream: step {0}/{1} loss {2:F4}", p.Step, p.TotalSteps, p.Loss));
        Receive<TrainerRestarted>(r => _log.Warning("upstream trainer restarted from step {0}: {1}", r.FromStep, r.Reason));
        Receive<object>(_ => { });
    }

    /// <param name="resumeFrom">A verified local training checkpoint of an earlier attempt, or null.</param>
    public static Props Props(string runId, int attempt, UpstreamSettings upstream, FineTuneSettings fineTune, string bootstrapServers, string device,
        ArtifactStore store, int checkpointEvery, string? resumeFrom)
    {
        var output = store.PathOf($"{runId}/upstream/attempt{attempt}/run");
        Directory.CreateDirectory(output);
        var settings = upstream.Loop.CheckpointEvery > 0 ? upstream : upstream with { Loop = upstream.Loop with { CheckpointEvery = checkpointEvery } };
        var run = new RunSpec(runId, bootstrapServers, output, settings, fineTune, [], resumeFrom, device);
        return Akka.Actor.Props.Create(() => new UpstreamAttempt(run, store));
    }

    protected override void PreStart() => Context.ActorOf(TrainingSupervisor.Props(_run, Self), "supervisor");
}
