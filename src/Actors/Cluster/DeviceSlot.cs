using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.Event;
using BitActors.Actors.Events;
using BitActors.Actors.FineTuning;
using BitActors.Actors.Training;
using BitActors.Model.Training;

namespace BitActors.Actors.Cluster;

/// <summary>How a trainer node trains the tasks it is given (the same on every node: one configuration file).</summary>
public sealed record TrainerNodeSettings(string Node, string BootstrapServers, FineTuneSettings FineTune, ArtifactStore Store,
    int CheckpointEvery, TimeSpan RequestInterval, UpstreamSettings? Upstream = null);

/// <summary>
/// One device of a trainer node. While it is free it asks the coordinator for work (again every
/// <c>RequestInterval</c>: a request lost in a coordinator handover is repeated; while busy it says what it runs,
/// for a coordinator that took over to adopt); with a task it runs one
/// <see cref="FineTuneWorker"/> (or the <see cref="UpstreamAttempt"/>) with its files in the artifact store, forwards
/// its checkpoints, and resends its outcome until the coordinator has settled it. A failed trainer is not restarted
/// here: the coordinator gives the task to another device, from its last checkpoint. It pulls: a node never holds
/// more tasks than it has devices.
/// </summary>
public sealed class DeviceSlot : ReceiveActor, IWithTimers
{
    private sealed record Tick;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IActorRef _coordinator;
    private readonly string _device;
    private readonly TrainerNodeSettings _settings;
    private readonly Func<TrainerSpec, Props>? _trainerProps;
    private WorkAssigned? _work;
    private IActorRef _worker = ActorRefs.Nobody;

    public ITimerScheduler Timers { get; set; } = null!;

    public DeviceSlot(IActorRef coordinator, string device, TrainerNodeSettings settings, Func<TrainerSpec, Props>? trainerProps = null)
    {
        (_coordinator, _device, _settings, _trainerProps) = (coordinator, device, settings, trainerProps);
        Idle();
    }

    /// <param name="trainerProps">How fine-tune trainers are made (tests pass a fake); default <see cref="GpuTrainer.Props"/>.</param>
    public static Props Props(IActorRef coordinator, string device, TrainerNodeSettings settings, Func<TrainerSpec, Props>? trainerProps = null) =>
        Akka.Actor.Props.Create(() => new DeviceSlot(coordinator, device, settings, trainerProps));

    protected override void PreStart() => BecomeIdle();

    private void BecomeIdle()
    {
        _work = null;
        _worker = ActorRefs.Nobody;
        Become(Idle);
        RequestWork();
        Timers.StartPeriodicTimer("request", new Tick(), _settings.RequestInterval);
    }

    private void RequestWork() => _coordinator.Tell(new RequestWork(_settings.Node, _device));

    private void Idle()
    {
        Receive<Tick>(_ => RequestWork());
        Receive<WorkAssigned>(Start);
        IgnoreStale(); // e.g. the last task's worker stopping after its outcome was settled
    }

    private void Start(WorkAssigned work)
    {
        _work = work;
        _log.Info("{0}: task {1} attempt {2} assigned{3}", _device, work.Task.Id, work.Attempt,
            work.ResumeFrom is { } r ? $", resuming from step {r.NextStep}" : "");
        try
        {
            // Every artifact is checked against the sha256 its writer recorded before anything is loaded.
            (string Path, int Step)? resume = null;
            if (work.ResumeFrom is { } from)
            {
                ArtifactStore.Fetch(from.State);
                resume = (ArtifactStore.Fetch(from.Weights), from.NextStep);
            }
            var name = $"task-{work.Attempt}-{Sanitize(work.Task.Id)}";
            if (work.Task.IsUpstream)
            {
                var upstream = _settings.Upstream ?? throw new NotSupportedException("this node has no upstream settings");
                _worker = Context.Watch(Context.ActorOf(UpstreamAttempt.Props(work.RunId, work.Attempt, upstream, _settings.FineTune, _settings.BootstrapServers,
                    _device, _settings.Store, _settings.CheckpointEvery, resume?.Path), name));
            }
            else
            {
                _worker = Context.Watch(Context.ActorOf(FineTuneWorker.Props(Attempt(work, resume), Self, _trainerProps), name));
            }
            Become(Working);
        }
        catch (Exception e) when (e is IOException or NotSupportedException or UnauthorizedAccessException or InvalidDataException)
        {
            Report(new TaskFailed(work.Task.Id, work.Attempt, $"cannot load its artifacts on {_settings.Node}: {e.Message}"));
        }
    }

    /// <summary>
    /// A fine-tune attempt with its files in the artifact store, from the backbone (checked) or an earlier attempt's
    /// checkpoint; its trainer is not restarted in place (<c>MaxRestarts</c> 0): retries are the coordinator's.
    /// </summary>
    private FineTuneAttempt Attempt(WorkAssigned work, (string Path, int Step)? resume)
    {
        var backbone = work.Backbone ?? throw new InvalidDataException($"task {work.Task.Id} came without a backbone");
        var (store, task, prefix) = (_settings.Store, work.Task.ToFineTuneTask(), $"{work.RunId}/tasks/{work.Task.Id}/attempt{work.Attempt}");
        return new FineTuneAttempt(work.RunId, _settings.BootstrapServers, _settings.FineTune with { Loop = _settings.FineTune.Loop with { CheckpointEvery = _settings.CheckpointEvery, MaxRestarts = 0 } },
            _device, task, backbone.At(ArtifactStore.Fetch(backbone.Artifact)),
            next => store.PathOf($"{prefix}-step{next}.bin"), store.PathOf($"{work.RunId}/models/{work.Task.Id}-attempt{work.Attempt}.bin"),
            work.Attempt, resume, ReportCheckpoints: true);
    }

    private void Working()
    {
        Receive<Tick>(_ => _coordinator.Tell(new WorkHeld(_settings.Node, _device, _work!.Task.Id, _work.Attempt)));
        // Only the current worker speaks for the task; anything else is from one already replaced.
        Receive<TrainingCheckpointed>(_ => Sender.Equals(_worker), Checkpointed);
        Receive<TrainingProgress>(_ => Sender.Equals(_worker), p => _log.Info("task {0}: step {1}/{2} loss {3:F4}", _work!.Task.Id, p.Step, p.TotalSteps, p.Loss));
        Receive<FineTuneCompleted>(_ => Sender.Equals(_worker), m =>
        {
            var data = JsonSerializer.Serialize(ModelEvent.FineTuneCompleted(m).Data, Json);
            Report(new TaskCompleted(_work!.Task.Id, _work.Attempt, data));
        });
        Receive<WorkerUpstreamFinished>(_ => Sender.Equals(_worker), m => Report(new UpstreamCompleted(_work!.Attempt, m.Backbone)));
        Receive<FineTuneFailed>(_ => Sender.Equals(_worker), m => Report(new TaskFailed(_work!.Task.Id, _work.Attempt, m.Reason)));
        Receive<WorkerFailed>(_ => Sender.Equals(_worker), m => Report(new TaskFailed(_work!.Task.Id, _work.Attempt, m.Reason)));
        Receive<Terminated>(t => t.ActorRef.Equals(_worker),
            _ => Report(new TaskFailed(_work!.Task.Id, _work.Attempt, "the task's worker stopped without a result")));
        IgnoreStale();
        Receive<WorkAssigned>(w => IgnoreAssignment(w));
    }

    private void IgnoreStale()
    {
        Receive<Terminated>(_ => { });
        Receive<TrainingCheckpointed>(_ => { });
        Receive<TrainingProgress>(_ => { });
        Receive<FineTuneCompleted>(_ => { });
        Receive<WorkerUpstreamFinished>(_ => { });
        Receive<FineTuneFailed>(_ => { });
        Receive<WorkerFailed>(_ => { });
        Receive<Tick>(_ => { });
        Receive<TaskSettled>(_ => { });
    }

    /// <summary>A resumable checkpoint (weights and training state) described for the coordinator, which another node may resume from.</summary>
    private void Checkpointed(TrainingCheckpointed m)
    {
        try
        {
            var checkpoint = new TaskCheckpoint(_settings.Store.Describe(m.Path), _settings.Store.Describe(TrainingCheckpoint.StatePath(m.Path)), m.NextStep);
            _coordinator.Tell(new TaskCheckpointed(_work!.Task.Id, _work.Attempt, checkpoint));
        }
        catch (Exception e) when (e is IOException or ArgumentException)
        {
            _log.Warning("{0}: task {1}'s checkpoint at step {2} cannot be shared: {3}", _device, _work!.Task.Id, m.NextStep, e.Message);
        }
    }

    /// <summary>The coordinator repeats an assignment when a request crossed it: the one running is that one.</summary>
    private void IgnoreAssignment(WorkAssigned w)
    {
        if (w.Task.Id != _work!.Task.Id || w.Attempt != _work.Attempt)
            _log.Warning("{0}: busy with {1}; ignoring assignment of {2}", _device, _work.Task.Id, w.Task.Id);
    }

    /// <summary>Sends the outcome until the coordinator settles it, then asks for the next task.</summary>
    private void Report(object outcome)
    {
        Timers.Cancel("request");
        _coordinator.Tell(outcome);
        Timers.StartPeriodicTimer("resend", new Tick(), _settings.RequestInterval);
        Become(() =>
        {
            Receive<Tick>(_ => _coordinator.Tell(outcome));
            Receive<TaskSettled>(s => s.TaskId == _work!.Task.Id, _ =>
            {
                Timers.Cancel("resend");
                BecomeIdle();
            });
            IgnoreStale();
            Receive<WorkAssigned>(w => IgnoreAssignment(w));
        });
    }

    private static string Sanitize(string name) => new(name.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' ? c : '-').ToArray());
}
