using System.Diagnostics;
using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using BitActors.Actors.Events;
using BitActors.Streams.Kafka;

namespace BitActors.Actors.Cluster;

/// <summary>
/// The cluster's fine-tune dispatcher, a singleton on a <c>coordinator</c> node: the cluster's scheduling. It holds the
/// run's <see cref="TaskQueue"/> and hands a task to a trainer's device only when that device asks (pull: backpressure);
/// when a device's node leaves or is downed, or an attempt fails (its trainer threw, its data or artifacts could not be
/// used), the task goes back to the front of the queue with its last checkpoint, for another device, until
/// <c>MaxAttempts</c> attempts have failed, or it was lost with its node <c>MaxNodeLosses</c> times (a task that kills
/// its node, e.g. out of memory, would otherwise move from node to node forever); then it is announced as failed. Outcomes are deduplicated by task id and
/// announced once on <c>bit.models</c>; tasks that already have an outcome there are not run again. Each task's attempts,
/// failures, losses, last checkpoint (and the upstream's backbone) are kept by its <see cref="TaskLedger"/> in the
/// artifact store, so a coordinator that takes over resumes every task from its last checkpoint (see
/// <see cref="PreparedJob"/>); an attempt still running through the handover (<see cref="WorkHeld"/>) is adopted.
/// An attempt's checkpoints and outcome count only from the device it was assigned to, for the task's current attempt
/// (see <see cref="FromAssignee"/>): anything else is logged and dropped, never announced.
/// Files are hashed off its thread: it must never block.
/// </summary>
public sealed partial class FineTuneCoordinator : ReceiveActor, IWithTimers
{
    public ITimerScheduler Timers { get; set; } = null!;

    private sealed record FailureChecked(TaskFailed Failure, IActorRef Device, TaskCheckpoint? Checkpoint, bool Usable);
    private sealed record Assignment(WorkAssigned Work, IActorRef Slot, string Node, Stopwatch Since);
    private sealed record PrepareAgain;

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly ClusterJob _job;
    private readonly KafkaEndpoint _kafka;
    private readonly ArtifactStore _store;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly TaskQueue _queue = new();
    private readonly Dictionary<string, Assignment> _running = new();
    private readonly TaskLedger _ledger;
    private readonly HashSet<string> _settled = new();
    private readonly HashSet<(string, int)> _checking = new();
    private readonly KnownDevices _devices;
    private readonly Dictionary<IActorRef, WorkHeld> _held = new();
    private IActorRef _events = ActorRefs.Nobody;
    private ClusterBackbone? _backbone;
    private IReadOnlySet<string> _done = new HashSet<string>();

    public FineTuneCoordinator(ClusterJob job, KafkaEndpoint kafka, ArtifactStore store)
    {
        (_job, _kafka, _store) = (job, kafka, store);
        (_ledger, _devices) = (new TaskLedger(store, job.RunId, _log), new KnownDevices(Context));
        Receive<PreparedJob>(Start);
        Receive<Status.Failure>(f =>
        {
            // Kafka or the artifact store not reachable yet: try again, devices keep waiting.
            _log.Error("run {0} cannot start: {1}; trying again in {2} s", _job.RunId, f.Cause.GetBaseException().Message, RetryPrepare.TotalSeconds);
            Timers.StartSingleTimer("prepare-again", new PrepareAgain(), RetryPrepare);
        });
        Receive<PrepareAgain>(_ => StartPreparing());
        Receive<RequestWork>(r => _devices.Park(Sender, r.Node)); // answered once the backbone is in the store
        Receive<WorkHeld>(h => _held[Sender] = h); // adopted once the tasks are queued
        Receive<Terminated>(t => _devices.Forget(t.ActorRef));
    }

    private static readonly TimeSpan RetryPrepare = TimeSpan.FromSeconds(10);

    private void StartPreparing() => Task.Run(() => PreparedJob.Read(_job, _kafka, _store)).PipeTo(Self, failure: e => new Status.Failure(e));

    public static Props Props(ClusterJob job, KafkaEndpoint kafka, ArtifactStore store) =>
        Akka.Actor.Props.Create(() => new FineTuneCoordinator(job, kafka, store));

    protected override void PreStart()
    {
        _events = Context.ActorOf(ModelEventsPublisher.Props(_kafka), "model-events");
        StartPreparing();
    }

    private void Start(PreparedJob p)
    {
        _done = p.Done;
        foreach (var warning in p.Warnings) _log.Warning(warning);
        _ledger.Load(p.Progress);
        if (p.Resuming is { } resuming) _log.Info("run {0}: an earlier coordinator's checkpoints found: {1}", _job.RunId, resuming);
        var (failures, losses) = (_ledger.Failures(ClusterTask.UpstreamId), _ledger.Losses(ClusterTask.UpstreamId));
        if (_job.Upstream is not null && p.Backbone is null && (failures >= _job.MaxAttempts || losses >= _job.MaxNodeLosses))
        {
            _settled.Add(ClusterTask.UpstreamId);
            _log.Error($"run {_job.RunId} failed: the upstream {(failures >= _job.MaxAttempts ? $"failed {failures} times" : $"was lost with its node {losses} times")} " +
                "under an earlier coordinator; its fine-tune tasks will not run (set job.run-id to run the job again)");
        }
        else if (_job.Upstream is not null && p.Backbone is null)
        {
            // The upstream run comes first; the fine-tune tasks are queued when its backbone is ready.
            _queue.Add(_job.UpstreamTask);
            _log.Info("run {0}: upstream pre-training queued{1}; {2} fine-tune task(s) follow it; artifact store {3}", _job.RunId,
                _ledger.Checkpoint(ClusterTask.UpstreamId) is { } from ? $" (resuming from step {from.NextStep})" : "", _job.Tasks.Count, _store.Uri);
        }
        else if (_job.Upstream is not null)
        {
            _settled.Add(ClusterTask.UpstreamId);
            QueueFineTuneTasks(p.Backbone!);
            _log.Info("run {0}: the upstream pre-training finished under an earlier coordinator (backbone {1}); {2} fine-tune task(s) queued",
                _job.RunId, p.Backbone!.Artifact.Uri, _queue.Count);
        }
        else
        {
            QueueFineTuneTasks(p.Backbone!);
            _log.Info("run {0}: {1} task(s) queued{2}; backbone {3} (sha256 {4}…) in the artifact store {5}", _job.RunId, _queue.Count,
                p.Done.Count > 0 ? $", {p.Done.Count} already finished on bit.models" : "", p.Backbone!.Artifact.Uri, p.Backbone.Artifact.Sha256[..12], _store.Uri);
            if (p.Done.Count == 0 && p.Progress.Count == 0) // a coordinator taking over does not announce it again
                _events.Tell(ModelEvent.BackboneReady(p.Given!));
        }
        Become(Dispatching);
        foreach (var (slot, held) in _held) Adopt(slot, held);
        _held.Clear();
        foreach (var (slot, node) in _devices.TakeIdle()) Offer(slot, node);
        LogIfFinished();
    }

    private void QueueFineTuneTasks(ClusterBackbone backbone)
    {
        _backbone = backbone;
        foreach (var task in _job.Tasks)
            if (_done.Contains(task.Name)) _settled.Add(task.Name);
            else _queue.Add(ClusterTask.Of(task));
    }

    private void Dispatching()
    {
        Receive<RequestWork>(r => Offer(Sender, r.Node));
        Receive<WorkHeld>(h => Adopt(Sender, h));
        Receive<TaskCheckpointed>(m =>
        {
            if (!FromAssignee(m.TaskId, m.Attempt, "a checkpoint", out var a, outcome: false)) return; // a lost attempt's, or not from its device
            if (!_ledger.Checkpointed(m.TaskId, m.Checkpoint)) return;
            _log.Info("task {0}: checkpoint at step {1} from {2}", m.TaskId, m.Checkpoint.NextStep, a.Node);
        });
        Receive<TaskCompleted>(m => !_job.Has(m.TaskId), m => NotOurs(m.TaskId));
        Receive<TaskFailed>(m => !_job.Has(m.TaskId), m => NotOurs(m.TaskId));
        Receive<TaskCompleted>(m =>
        {
            if (!_settled.Contains(m.TaskId) && !FromAssignee(m.TaskId, m.Attempt, Completion, out _)) return;
            if (m.TaskId == ClusterTask.UpstreamId) BackboneMade(m);
            else Settle(m.TaskId, m.Attempt, Sender, () =>
                new ModelEvent(ModelEvent.FineTuneCompletedType, $"{_job.RunId}/{m.TaskId}", JsonDocument.Parse(m.EventJson).RootElement.Clone()), "completed");
        });
        Receive<TaskFailed>(Failed);
        Receive<FailureChecked>(Counted);
        Receive<Terminated>(t => Lost(t.ActorRef));
        Receive<ModelEventPublished>(_ => { });
    }

    /// <summary>The upstream finished: its backbone is recorded and fanned out to the fine-tune tasks (a resent outcome is only acknowledged).</summary>
    private void BackboneMade(TaskCompleted m)
    {
        Sender.Tell(new TaskSettled(ClusterTask.UpstreamId));
        if (!_settled.Add(ClusterTask.UpstreamId)) return; // resent
        var backbone = m.Backbone ?? throw new InvalidDataException("the upstream's outcome came without its backbone");
        _running.Remove(ClusterTask.UpstreamId);
        _queue.Remove(ClusterTask.UpstreamId); // an attempt a coordinator that took over had queued again
        _ledger.BackboneMade(backbone);
        QueueFineTuneTasks(backbone);
        _log.Info("upstream completed (attempt {0}) after {1:F1} s: backbone {2} (sha256 {3}…); {4} fine-tune task(s) queued",
            m.Attempt, _clock.Elapsed.TotalSeconds, backbone.Artifact.Uri, backbone.Artifact.Sha256[..12], _queue.Count);
        OfferToIdle();
    }

    /// <summary>An outcome for a task of no run of ours (an older job's trainer): acknowledged so it stops, not announced.</summary>
    private void NotOurs(string taskId)
    {
        _log.Warning("an outcome for {0}, which is no task of run {1}: ignored", taskId, _job.RunId);
        Sender.Tell(new TaskSettled(taskId));
    }

    /// <summary>
    /// An attempt failed: the task goes back to the front of the queue for another device, from its last checkpoint,
    /// unless <c>MaxAttempts</c> attempts have failed: then it is announced as failed (or, for the upstream, the run
    /// stops). An attempt that is no longer the task's current one (superseded after its node was presumed lost, or
    /// the task already settled) is only acknowledged.
    /// </summary>
    private void Failed(TaskFailed m)
    {
        if (!_settled.Contains(m.TaskId) && !FromAssignee(m.TaskId, m.Attempt, "a failure", out _)) return;
        if (!IsCurrent(m.TaskId, m.Attempt, out _))
        {
            Sender.Tell(new TaskSettled(m.TaskId));
            _log.Info("task {0}: attempt {1} failed ({2}), but it is not the attempt that counts now; ignored", m.TaskId, m.Attempt, m.Reason);
            return;
        }
        if (!_checking.Add((m.TaskId, m.Attempt))) return; // resent while its checkpoint is checked: answered then
        // The failure may be the checkpoint itself (truncated, changed): a next attempt starts over rather than failing
        // on it again until the attempts run out. Its files are hashed off the actor's thread.
        var (device, checkpoint, log, store) = (Sender, _ledger.Checkpoint(m.TaskId), _log, _store);
        Task.Run(() => checkpoint is null || TaskProgress.Usable(store, m.TaskId, checkpoint, w => log.Warning(w)))
            .PipeTo(Self, success: usable => new FailureChecked(m, device, checkpoint, usable), failure: _ => new FailureChecked(m, device, checkpoint, false));
    }

    private bool IsCurrent(string taskId, int attempt, out Assignment a) =>
        _running.TryGetValue(taskId, out a!) && a.Work.Attempt == attempt && !_settled.Contains(taskId);

    /// <summary>A failed attempt, its checkpoint checked: counted, and the task tried again elsewhere or announced as failed.</summary>
    private void Counted(FailureChecked c)
    {
        var (m, device) = (c.Failure, c.Device);
        _checking.Remove((m.TaskId, m.Attempt));
        if (!IsCurrent(m.TaskId, m.Attempt, out var a))
        {
            device.Tell(new TaskSettled(m.TaskId)); // its device was lost, or another attempt settled it, meanwhile
            return;
        }
        if (!c.Usable) _ledger.Unusable(m.TaskId, c.Checkpoint);
        var failures = _ledger.Failed(m.TaskId);
        var reason = failures == 1 ? m.Reason : $"{failures} attempts failed; the last (attempt {m.Attempt} on {a.Node}): {m.Reason}";
        if (failures >= _job.MaxAttempts)
        {
            Fail(m.TaskId, m.Attempt, device, reason);
            return;
        }
        device.Tell(new TaskSettled(m.TaskId));
        _running.Remove(m.TaskId);
        _queue.FailedOn(m.TaskId, a.Slot);
        _queue.GiveBack(a.Work.Task);
        _log.Warning($"task {m.TaskId} attempt {m.Attempt} failed on {a.Node}: {m.Reason}; back in the queue for another device, " +
            $"to resume from step {_ledger.Checkpoint(m.TaskId)?.NextStep ?? 0} ({failures} of {_job.MaxAttempts} failed attempts allowed)");
        OfferToIdle();
    }

    /// <summary>The task has failed for good: announced as failed once (for the upstream: the run stops; nothing is announced).</summary>
    private void Fail(string taskId, int attempt, IActorRef device, string reason)
    {
        if (taskId != ClusterTask.UpstreamId)
        {
            Settle(taskId, attempt, device, () =>
                ModelEvent.FineTuneFailed(new FineTuneFailed(_job.RunId, _job.Tasks.First(t => t.Name == taskId), reason), _job.Arch), $"failed ({reason})");
            return;
        }
        device.Tell(new TaskSettled(taskId));
        _settled.Add(taskId);
        _running.Remove(taskId);
        _queue.Remove(taskId);
        _log.Error("run {0} failed: upstream failed: {1}; its fine-tune tasks will not run", _job.RunId, reason);
    }

    /// <summary>
    /// A device runs an attempt this coordinator did not assign (an earlier one did, before it moved): while the task
    /// waits in the queue, that attempt becomes the task's current one, resumed by nobody else.
    /// </summary>
    private void Adopt(IActorRef slot, WorkHeld held)
    {
        if (_running.ContainsKey(held.TaskId) || _settled.Contains(held.TaskId)) return; // ours, or one that was superseded
        if (_queue.Find(held.TaskId) is not { } task) return; // not queued yet (its backbone is not ready)
        _queue.Remove(held.TaskId);
        _devices.Watch(slot);
        _devices.Busy(slot);
        _ledger.Adopted(held.TaskId, held.Attempt);
        _running[held.TaskId] = new Assignment(new WorkAssigned(_job.RunId, task, held.Attempt, task.IsUpstream ? null : _backbone, _ledger.Checkpoint(held.TaskId)),
            slot, held.Node, Stopwatch.StartNew());
        _log.Info("task {0} attempt {1}: still running on {2} ({3}); adopted", held.TaskId, held.Attempt, held.Node, slot.Path);
    }

    /// <summary>A free device asks: give it the next task it may run, or keep it until one comes back.</summary>
    private void Offer(IActorRef slot, string node)
    {
        _devices.Watch(slot);
        var held = _running.Values.FirstOrDefault(a => a.Slot.Equals(slot));
        if (held is not null)
        {
            slot.Tell(held.Work); // a request that crossed the assignment: the same answer again
            return;
        }
        if (_queue.TakeFor(slot, _devices.Watched) is not { } task)
        {
            _devices.Park(slot, node);
            return;
        }
        var attempt = _ledger.NextAttempt(task.Id);
        var work = new WorkAssigned(_job.RunId, task, attempt, _backbone, _ledger.Checkpoint(task.Id));
        _running[task.Id] = new Assignment(work, slot, node, Stopwatch.StartNew());
        _devices.Busy(slot);
        _log.Info("task {0} attempt {1} → {2} ({3}){4}", task.Id, attempt, node, slot.Path,
            work.ResumeFrom is { } r ? $", resuming from step {r.NextStep}" : "");
        slot.Tell(work);
    }

    private void OfferToIdle()
    {
        foreach (var (slot, node) in _devices.Idle)
            if (_queue.Count > 0) Offer(slot, node);
    }

    /// <summary>The first outcome of a task (its current attempt's) is announced; later ones (resent) are only acknowledged.</summary>
    private void Settle(string taskId, int attempt, IActorRef device, Func<ModelEvent> modelEvent, string outcome)
    {
        device.Tell(new TaskSettled(taskId));
        if (!_settled.Add(taskId))
        {
            _log.Info("task {0}: attempt {1} also {2}; already settled, not announced again", taskId, attempt, outcome);
            return;
        }
        _running.Remove(taskId);
        _events.Tell(modelEvent());
        _log.Info("task {0} {1} (attempt {2}); {3} of {4} settled after {5:F1} s", taskId, outcome, attempt, _settled.Count, _job.TaskCount, _clock.Elapsed.TotalSeconds);
        LogIfFinished();
    }

    /// <summary>
    /// A device's node left or was downed: its task goes back to the front of the queue, with its last checkpoint, unless
    /// this was its <c>MaxNodeLosses</c>-th lost attempt: then the task fails, its reason naming the losses and the nodes.
    /// </summary>
    private void Lost(IActorRef slot)
    {
        _devices.Forget(slot);
        foreach (var a in _running.Values.Where(a => a.Slot.Equals(slot)).ToList())
        {
            var (id, since) = (a.Work.Task.Id, $"{a.Since.Elapsed.TotalSeconds:F1} s");
            var (losses, nodes) = _ledger.Lost(id, a.Node);
            if (losses >= _job.MaxNodeLosses)
            {
                Fail(id, a.Work.Attempt, slot, $"lost with its node {losses} times (bitactors.cluster.max-node-losses = {_job.MaxNodeLosses}), " +
                    $"on {string.Join(", ", nodes)}; the last, attempt {a.Work.Attempt}, {since} after it was assigned to {a.Node}");
                continue;
            }
            _running.Remove(id);
            _queue.GiveBack(a.Work.Task);
            _log.Warning($"task {id} attempt {a.Work.Attempt}: {a.Node} is gone ({since} after it was assigned); back in the queue, to resume from " +
                $"step {_ledger.Checkpoint(id)?.NextStep ?? 0} (its node lost {losses} of {_job.MaxNodeLosses} times before it fails)");
        }
        OfferToIdle();
    }

    private void LogIfFinished()
    {
        if (_settled.Count == _job.TaskCount)
            _log.Info("run {0}: all {1} task(s) settled after {2:F1} s", _job.RunId, _job.TaskCount, _clock.Elapsed.TotalSeconds);
    }
}
