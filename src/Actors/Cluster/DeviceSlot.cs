using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.Event;
using BitActors.Actors.Events;
using BitActors.Actors.FineTuning;
using BitActors.Actors.Telemetry;
using BitActors.Actors.Training;
using BitActors.Model.Training;
using BitActors.Streams.Kafka;

namespace BitActors.Actors.Cluster;

/// <summary>
/// How a trainer node trains the tasks it is given (the same on every node: one configuration file); an outcome larger
/// than <c>MaximumFrameSize</c> (remoting's) is reported as a failure naming its size instead of being dropped on the wire.
/// </summary>
public sealed record TrainerNodeSettings(string Node, KafkaEndpoint Kafka, FineTuneSettings FineTune, ArtifactStore Store,
    int CheckpointEvery, TimeSpan RequestInterval, UpstreamSettings? Upstream = null, long MaximumFrameSize = ClusterSettings.DefaultMaximumFrameSize);

/// <summary>
/// One device of a trainer node. While it is free it asks the coordinator for work (again every
/// <c>RequestInterval</c>: a request lost in a coordinator handover is repeated; while busy it says what it runs,
/// for a coordinator that took over to adopt); with a task it checks the task's artifacts and runs one
/// <see cref="FineTuneWorker"/> (or, for the upstream task, a <see cref="TrainingSupervisor"/>: see
/// <see cref="UpstreamAttempt"/>) with its files in the artifact store, passes on its checkpoints and its outcome in
/// the coordinator's wire form (files described by sha256, off the actor's thread, in the order they came), and
/// resends the outcome until the coordinator has settled it. A failed trainer is not restarted here: the coordinator
/// gives the task to another device, from its last checkpoint. It pulls: a node never holds more tasks than it has devices.
/// It takes assignments and settlements only from the coordinator (<see cref="CoordinatorSender"/>); others are logged and dropped.
/// </summary>
public sealed class DeviceSlot : ReceiveActor, IWithTimers
{
    private sealed record Tick;
    private sealed record Fetched(WorkAssigned Work, string? Backbone, (string Path, int Step)? Resume);
    private sealed record FetchFailed(WorkAssigned Work, Exception Error);

    /// <summary>A message for the coordinator about the current attempt, made off the actor's thread; <c>Outcome</c>: its last.</summary>
    private sealed record Outgoing(object Message, bool Outcome);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IActorRef _coordinator;
    private readonly CoordinatorSender _fromCoordinator;
    private readonly string _device;
    private readonly TrainerNodeSettings _settings;
    private readonly Func<TrainerSpec, Props>? _trainerProps;
    private WorkAssigned? _work;
    private IActorRef _worker = ActorRefs.Nobody;
    private BackboneReady? _backbone;
    private bool _finished;
    private MetricsWriter? _metrics; // the task's metrics.jsonl and TensorBoard file, in the artifact store
    private Task _outbox = Task.CompletedTask;
    private Exception? _workerFailure;

    public ITimerScheduler Timers { get; set; } = null!;

    public DeviceSlot(IActorRef coordinator, string device, TrainerNodeSettings settings, Func<TrainerSpec, Props>? trainerProps = null)
    {
        (_coordinator, _device, _settings, _trainerProps) = (coordinator, device, settings, trainerProps);
        _fromCoordinator = new CoordinatorSender(coordinator, Context.System);
        Idle();
    }

    /// <param name="trainerProps">How trainers are made (tests pass a fake); default <see cref="GpuTrainer.Props"/>.</param>
    public static Props Props(IActorRef coordinator, string device, TrainerNodeSettings settings, Func<TrainerSpec, Props>? trainerProps = null) =>
        Akka.Actor.Props.Create(() => new DeviceSlot(coordinator, device, settings, trainerProps));

    protected override void PreStart() => BecomeIdle();

    /// <summary>
    /// A worker (or upstream supervisor) that throws is stopped, not restarted: Akka's default would restart it without
    /// limit, a deterministic failure looping (or rerunning a whole training) forever. Its task fails with the cause;
    /// retrying it, here or elsewhere, is the coordinator's decision.
    /// </summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(e =>
    {
        _workerFailure = e is ActorInitializationException { InnerException: { } inner } ? inner : e;
        return Directive.Stop;
    });

    protected override void PostStop() => _metrics?.Dispose();

    private void BecomeIdle()
    {
        (_work, _worker, _backbone, _finished, _workerFailure) = (null, ActorRefs.Nobody, null, false, null);
        _metrics?.Dispose();
        _metrics = null;
        Become(Idle);
        RequestWork();
        Timers.StartPeriodicTimer("request", new Tick(), _settings.RequestInterval);
    }

    private void RequestWork() => _coordinator.Tell(new RequestWork(_settings.Node, _device));

    private void Idle()
    {
        DropForged();
        Receive<Tick>(_ => RequestWork());
        Receive<WorkAssigned>(Start);
        IgnoreStale(); // e.g. the last task's worker stopping after its outcome was settled
    }

    /// <summary>Every artifact is checked against the sha256 its writer recorded before anything is loaded: off the actor's thread.</summary>
    private void Start(WorkAssigned work)
    {
        _work = work;
        _log.Info("{0}: task {1} attempt {2} assigned{3}", _device, work.Task.Id, work.Attempt,
            work.ResumeFrom is { } r ? $", resuming from step {r.NextStep}" : "");
        Task.Run(() => Fetch(work)).PipeTo(Self, failure: e => new FetchFailed(work, e));
        Become(() =>
        {
            DropForged();
            Receive<Fetched>(f => ReferenceEquals(f.Work, _work), Run);
            Receive<FetchFailed>(f => f.Error is IOException or NotSupportedException or UnauthorizedAccessException or InvalidDataException,
                f => Report(new TaskFailed(work.Task.Id, work.Attempt, $"cannot load its artifacts on {_settings.Node}: {f.Error.Message}")));
            Receive<FetchFailed>(f => throw f.Error); // anything else is a fault of this slot: it restarts, as it did before
            Receive<Tick>(_ => Held());
            Receive<WorkAssigned>(IgnoreAssignment);
            IgnoreStale();
        });
    }

    private Fetched Fetch(WorkAssigned work)
    {
        if (work.Task.IsUpstream && _settings.Upstream is null) throw new NotSupportedException("this node has no upstream settings");
        (string Path, int Step)? resume = null;
        if (work.ResumeFrom is { } from)
        {
            _settings.Store.Fetch(from.State);
            resume = (_settings.Store.Fetch(from.Weights), from.NextStep);
        }
        if (work.Task.IsUpstream) return new Fetched(work, null, resume);
        var backbone = work.Backbone ?? throw new InvalidDataException($"task {work.Task.Id} came without a backbone");
        return new Fetched(work, _settings.Store.Fetch(backbone.Artifact), resume);
    }

    private void Run(Fetched f)
    {
        var work = f.Work;
        var props = work.Task.IsUpstream
            ? UpstreamAttempt.Of(work.RunId, work.Attempt, _settings.Upstream!, _settings.FineTune, _settings.Kafka, _device, _settings.Store,
                _settings.CheckpointEvery, f.Resume?.Path).Props(Self, _trainerProps)
            : FineTuneWorker.Props(Attempt(work, f.Backbone!, f.Resume), Self, _trainerProps);
        _worker = Context.Watch(Context.ActorOf(props, $"task-{work.Attempt}-{Sanitize(work.Task.Id)}"));
        TrainingMeters.TaskStarted();
        _metrics = MetricsWriter.TryOpen(_settings.Store.PathOf($"{work.RunId}/tasks/{work.Task.Id}/{MetricsLog.File}"), w => _log.Warning(w));
        Become(Working);
    }

    /// <summary>
    /// A fine-tune attempt with its files in the artifact store, from the backbone (checked) or an earlier attempt's
    /// checkpoint; its trainer is not restarted in place (<c>MaxRestarts</c> 0): retries are the coordinator's.
    /// </summary>
    private FineTuneAttempt Attempt(WorkAssigned work, string backbone, (string Path, int Step)? resume)
    {
        var (store, prefix) = (_settings.Store, $"{work.RunId}/tasks/{work.Task.Id}/attempt{work.Attempt}");
        return new FineTuneAttempt(work.RunId, _settings.Kafka, _settings.FineTune with { Loop = _settings.FineTune.Loop with { CheckpointEvery = _settings.CheckpointEvery, MaxRestarts = 0 } },
            _device, work.Task.ToFineTuneTask(), work.Backbone!.At(backbone),
            next => store.PathOf($"{prefix}-step{next}.bin"), store.PathOf($"{work.RunId}/models/{work.Task.Id}-attempt{work.Attempt}.safetensors"),
            work.Attempt, resume, ReportCheckpoints: true);
    }

    private void Working()
    {
        DropForged();
        Receive<Tick>(_ => Held());
        // Only the current worker (or its training loop) speaks for the task; anything else is from one already replaced.
        Receive<TrainingCheckpointed>(_ => FromWorker(), m => Send(() => Shared(m), outcome: false));
        Receive<TrainingProgress>(_ => FromWorker(), p =>
        {
            _metrics?.Write(MetricsLog.Of(p));
            _log.Info("task {0}: step {1}/{2} loss {3:F4}", _work!.Task.Id, p.Step, p.TotalSteps, p.Loss);
        });
        Receive<TrainerRestarted>(_ => FromWorker(), r => _log.Warning("task {0}: trainer restarted from step {1}: {2}", r.Task, r.FromStep, r.Reason));
        Receive<BackboneReady>(_ => FromWorker(), b =>
        {
            _backbone = b; // the upstream's, passed on once its run completes
            _metrics?.Write(MetricsLog.Of(b));
        });
        Receive<FineTuneCompleted>(_ => FromWorker(), m =>
        {
            _metrics?.Write(MetricsLog.Of(m));
            Finish(work => new TaskCompleted(work.Task.Id, work.Attempt, EventJson(ModelEvent.FineTuneCompleted(m, _settings.FineTune.MaxClassesInEvent))));
        });
        Receive<RunCompleted>(_ => FromWorker(), _ => Finish(work => Completed(work, _backbone!)));
        Receive<FineTuneFailed>(_ => FromWorker(), m => Finish(work => new TaskFailed(work.Task.Id, work.Attempt, m.Reason)));
        Receive<RunFailed>(_ => FromWorker(), m => Finish(work => new TaskFailed(work.Task.Id, work.Attempt, m.Reason)));
        Receive<Terminated>(t => t.ActorRef.Equals(_worker) && !_finished,
            _ =>
            {
                var cause = _workerFailure is { } e ? $": {e.GetType().Name}: {e.Message}" : "";
                Finish(work => new TaskFailed(work.Task.Id, work.Attempt, "the task's worker stopped without a result" + cause));
            });
        Receive<Outgoing>(m => m.Outcome, m =>
        {
            TrainingMeters.TaskEnded(completed: m.Message is TaskCompleted);
            Report(m.Message);
        });
        Receive<Outgoing>(m => _coordinator.Tell(m.Message));
        IgnoreStale();
        Receive<WorkAssigned>(IgnoreAssignment);
    }

    private void Held() => _coordinator.Tell(new WorkHeld(_settings.Node, _device, _work!.Task.Id, _work.Attempt));

    /// <summary>Whether the sender is the current worker or one of its children (its training loop reports progress itself).</summary>
    private bool FromWorker()
    {
        var (worker, sender) = (_worker.Path.Elements, Sender.Path.Elements);
        return !_worker.IsNobody() && sender.Count >= worker.Count && worker.SequenceEqual(sender.Take(worker.Count));
    }

    private void Finish(Func<WorkAssigned, object> outcome)
    {
        _finished = true;
        var (work, serialization) = (_work!, Context.System.Serialization);
        Send(() =>
        {
            try { return Fitting(outcome(work), work, serialization); }
            catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
            {
                return new TaskFailed(work.Task.Id, work.Attempt, $"its result cannot be shared from {_settings.Node}: {e.Message}");
            }
        }, outcome: true);
    }

    /// <summary>Bytes a remoting frame needs beyond the serialized message (envelope, sender and recipient paths).</summary>
    private const int FrameOverhead = 4096;

    /// <summary>
    /// The outcome, or, when it would not fit a remoting frame (the transport drops it, and it would be resent forever),
    /// a failure that names its size and the limit.
    /// </summary>
    private object Fitting(object outcome, WorkAssigned work, Akka.Serialization.Serialization serialization)
    {
        var bytes = serialization.FindSerializerFor(outcome).ToBinary(outcome).LongLength + FrameOverhead;
        if (bytes <= _settings.MaximumFrameSize) return outcome;
        var reason = $"its outcome is {bytes:N0} bytes, over bitactors.cluster.maximum-frame-size ({_settings.MaximumFrameSize:N0} bytes): " +
            "raise it, or lower bitactors.events.max-classes-in-event";
        _log.Error("{0}: task {1}: {2}", _device, work.Task.Id, reason);
        return new TaskFailed(work.Task.Id, work.Attempt, reason);
    }

    /// <summary>
    /// Sends what <paramref name="make"/> makes (null: nothing) after everything sent before it: describing files runs off the
    /// actor's thread, and an outcome never overtakes a checkpoint.
    /// </summary>
    private void Send(Func<object?> make, bool outcome)
    {
        var self = Self;
        _outbox = _outbox.ContinueWith(_ =>
        {
            if (make() is { } message) self.Tell(new Outgoing(message, outcome));
        }, TaskScheduler.Default);
    }

    /// <summary>A resumable checkpoint (weights and training state) described for the coordinator, which another node may resume from.</summary>
    private TaskCheckpointed? Shared(TrainingCheckpointed m)
    {
        var work = _work!;
        try
        {
            var checkpoint = new TaskCheckpoint(_settings.Store.Describe(m.Path), _settings.Store.Describe(TrainingCheckpoint.StatePath(m.Path)), m.NextStep);
            return new TaskCheckpointed(work.Task.Id, work.Attempt, checkpoint);
        }
        catch (Exception e) when (e is IOException or ArgumentException)
        {
            _log.Warning("{0}: task {1}'s checkpoint at step {2} cannot be shared: {3}", _device, work.Task.Id, m.NextStep, e.Message);
            return null;
        }
    }

    /// <summary>The upstream's backbone, described in the artifact store for the fine-tune tasks.</summary>
    private TaskCompleted Completed(WorkAssigned work, BackboneReady b) =>
        new(work.Task.Id, work.Attempt, EventJson(ModelEvent.BackboneReady(b)),
            ClusterBackbone.Of(_settings.Store.Describe(b.Checkpoint.Path), b.Arch, b.InChannels, b.Norm, b.WeightStandardization));

    private static string EventJson(ModelEvent e) => JsonSerializer.Serialize(e.Data, Json);

    /// <summary>Assignments and settlements from anyone but the coordinator: logged, dropped (first handlers of every state).</summary>
    private void DropForged()
    {
        Receive<WorkAssigned>(_ => !_fromCoordinator.Sent(Sender), w => Forged($"an assignment of task {w.Task.Id} attempt {w.Attempt}"));
        Receive<TaskSettled>(_ => !_fromCoordinator.Sent(Sender), s => Forged($"a settlement of task {s.TaskId}"));
    }

    private void Forged(string what) => _log.Warning("{0}: {1} from {2}, which is not the coordinator: dropped", _device, what, Sender.Path);

    private void IgnoreStale()
    {
        Receive<Terminated>(_ => { });
        Receive<TrainingCheckpointed>(_ => { });
        Receive<TrainingProgress>(_ => { });
        Receive<TrainerRestarted>(_ => { });
        Receive<PhaseChanged>(_ => { });
        Receive<BackboneReady>(_ => { });
        Receive<FineTuneCompleted>(_ => { });
        Receive<RunCompleted>(_ => { });
        Receive<FineTuneFailed>(_ => { });
        Receive<RunFailed>(_ => { });
        Receive<Tick>(_ => { });
        Receive<TaskSettled>(_ => { });
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
            DropForged();
            Receive<Tick>(_ => _coordinator.Tell(outcome));
            Receive<TaskSettled>(s => s.TaskId == _work!.Task.Id, _ =>
            {
                Timers.Cancel("resend");
                BecomeIdle();
            });
            IgnoreStale();
            Receive<WorkAssigned>(IgnoreAssignment);
        });
    }

    private static string Sanitize(string name) => new(name.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' ? c : '-').ToArray());
}
