using System.Diagnostics;
using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using BitActors.Actors.Events;
using BitActors.Model.Architecture;
using BitActors.Model.Checkpoints;
using BitActors.Model.Training;

namespace BitActors.Actors.Cluster;

/// <summary>
/// A fan-out to tasks, run by the cluster: of a given <c>Backbone</c> (what <c>run --backbone</c> does on one machine),
/// or of the backbone an <c>Upstream</c> pre-training makes first, itself a task of a trainer node.
/// </summary>
public sealed record ClusterJob(string RunId, GivenBackbone? Backbone, IReadOnlyList<FineTuneTask> Tasks, UpstreamSettings? Upstream = null)
{
    public string Arch => Backbone?.Arch ?? Upstream!.Arch;

    /// <summary>The upstream pre-training as a task (its data: the upstream dataset and classes).</summary>
    public ClusterTask UpstreamTask => new(ClusterTask.UpstreamId, Upstream!.Dataset, Upstream.Classes.Classes.ToArray(), null, Upstream.Seed, true);

    public int TaskCount => Tasks.Count + (Upstream is null ? 0 : 1);
}

/// <summary>
/// The cluster's fine-tune dispatcher, a singleton on a <c>coordinator</c> node. It holds the run's task queue
/// and hands a task to a trainer's device only when that device asks (pull: backpressure); it watches every
/// device it gave a task to, and when that device's node leaves or is downed, the task goes back to the front of
/// the queue with its last checkpoint, for the next free device to resume. Outcomes are deduplicated by task id
/// and announced once on <c>bit.models</c>; tasks that already have an outcome there (an earlier coordinator's)
/// are not run again.
/// </summary>
public sealed class FineTuneCoordinator : ReceiveActor
{
    private sealed record Prepared(ClusterBackbone? Backbone, CheckpointFiles.Saved? Saved, IReadOnlySet<string> Done);
    private sealed record Assignment(WorkAssigned Work, IActorRef Slot, string Node, Stopwatch Since);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly ClusterJob _job;
    private readonly string _bootstrapServers;
    private readonly ArtifactStore _store;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly LinkedList<ClusterTask> _queue = new();
    private readonly Dictionary<string, Assignment> _running = new();
    private readonly Dictionary<string, TaskCheckpoint> _checkpoints = new();
    private readonly Dictionary<string, int> _attempts = new();
    private readonly HashSet<string> _settled = new();
    private readonly List<(IActorRef Slot, string Node)> _idle = new();
    private readonly HashSet<IActorRef> _watched = new();
    private IActorRef _events = ActorRefs.Nobody;
    private ClusterBackbone? _backbone;
    private IReadOnlySet<string> _done = new HashSet<string>();

    public FineTuneCoordinator(ClusterJob job, string bootstrapServers, ArtifactStore store)
    {
        (_job, _bootstrapServers, _store) = (job, bootstrapServers, store);
        Receive<Prepared>(Start);
        Receive<Status.Failure>(f =>
        {
            // Kafka or the artifact store not reachable yet: try again, devices keep waiting.
            _log.Error("run {0} cannot start: {1}; trying again in {2} s", _job.RunId, f.Cause.GetBaseException().Message, RetryPrepare.TotalSeconds);
            Context.System.Scheduler.ScheduleTellOnce(RetryPrepare, Self, new PrepareAgain(), Self);
        });
        Receive<PrepareAgain>(_ => StartPreparing());
        Receive<RequestWork>(r => Park(Sender, r.Node)); // answered once the backbone is in the store
        Receive<Terminated>(t => Forget(t.ActorRef));
    }

    private static readonly TimeSpan RetryPrepare = TimeSpan.FromSeconds(10);

    private sealed record PrepareAgain;

    private void StartPreparing() => Task.Run(Prepare).PipeTo(Self, failure: e => new Status.Failure(e));

    public static Props Props(ClusterJob job, string bootstrapServers, ArtifactStore store) =>
        Akka.Actor.Props.Create(() => new FineTuneCoordinator(job, bootstrapServers, store));

    protected override void PreStart()
    {
        _events = Context.ActorOf(ModelEventsPublisher.Props(_bootstrapServers), "model-events");
        StartPreparing();
    }

    /// <summary>The backbone copied into the artifact store (hash checked), and the outcomes already on bit.models.</summary>
    private Prepared Prepare()
    {
        if (_job.Backbone is not { } given) return new Prepared(null, null, CompletedTasks.Read(_bootstrapServers, _job.RunId, TimeSpan.FromSeconds(15)));
        var saved = CheckpointFiles.Describe(given.Path);
        var artifact = _store.Import(saved.Path, $"{_job.RunId}/backbone/{Path.GetFileName(saved.Path)}");
        var backbone = new ClusterBackbone(artifact, given.Arch, given.InChannels, given.Norm == NormKind.BatchNorm ? "bn" : "gn", given.WeightStandardization);
        var done = CompletedTasks.Read(_bootstrapServers, _job.RunId, TimeSpan.FromSeconds(15));
        return new Prepared(backbone, saved with { Path = new Uri(artifact.Uri).LocalPath }, done);
    }

    private void Start(Prepared p)
    {
        _done = p.Done;
        if (p.Backbone is null)
        {
            // The upstream run comes first; the fine-tune tasks are queued when its backbone is ready.
            _queue.AddLast(_job.UpstreamTask);
            _log.Info("run {0}: upstream pre-training queued; {1} fine-tune task(s) follow it; artifact store {2}", _job.RunId, _job.Tasks.Count, _store.Uri);
        }
        else
        {
            QueueFineTuneTasks(p.Backbone);
            _log.Info("run {0}: {1} task(s) queued{2}; backbone {3} (sha256 {4}…) in the artifact store {5}", _job.RunId, _queue.Count,
                p.Done.Count > 0 ? $", {p.Done.Count} already finished on bit.models" : "", p.Backbone.Artifact.Uri, p.Backbone.Artifact.Sha256[..12], _store.Uri);
            if (p.Done.Count == 0)
                _events.Tell(ModelEvent.BackboneReady(new BackboneReady(_job.RunId, p.Backbone.Arch, p.Backbone.InChannels, p.Saved!, 0,
                    double.NaN, double.NaN, new EvaluationResult(double.NaN, double.NaN, double.NaN, 0, [], []), TimeSpan.Zero, _job.Backbone!.Norm, _job.Backbone.WeightStandardization)));
        }
        Become(Dispatching);
        var idle = _idle.ToList();
        _idle.Clear();
        foreach (var (slot, node) in idle) Offer(slot, node);
        LogIfFinished();
    }

    private void QueueFineTuneTasks(ClusterBackbone backbone)
    {
        _backbone = backbone;
        foreach (var task in _job.Tasks)
            if (_done.Contains(task.Name)) _settled.Add(task.Name);
            else _queue.AddLast(ClusterTask.Of(task));
    }

    private void Dispatching()
    {
        Receive<RequestWork>(r => Offer(Sender, r.Node));
        Receive<UpstreamCompleted>(m =>
        {
            Sender.Tell(new TaskSettled(ClusterTask.UpstreamId));
            if (!_settled.Add(ClusterTask.UpstreamId)) return; // resent
            _running.Remove(ClusterTask.UpstreamId);
            QueueFineTuneTasks(m.Backbone);
            _log.Info("upstream completed (attempt {0}) after {1:F1} s: backbone {2} (sha256 {3}…); {4} fine-tune task(s) queued",
                m.Attempt, _clock.Elapsed.TotalSeconds, m.Backbone.Artifact.Uri, m.Backbone.Artifact.Sha256[..12], _queue.Count);
            foreach (var (slot, node) in _idle.ToList()) Offer(slot, node);
        });
        Receive<TaskCheckpointed>(m =>
        {
            if (!_running.TryGetValue(m.TaskId, out var a) || a.Work.Attempt != m.Attempt) return; // a lost attempt's
            if (_checkpoints.TryGetValue(m.TaskId, out var last) && last.NextStep >= m.Checkpoint.NextStep) return;
            _checkpoints[m.TaskId] = m.Checkpoint;
            _log.Info("task {0}: checkpoint at step {1} from {2}", m.TaskId, m.Checkpoint.NextStep, a.Node);
        });
        Receive<TaskCompleted>(m => !IsTask(m.TaskId), m => NotOurs(m.TaskId));
        Receive<TaskFailed>(m => !IsTask(m.TaskId), m => NotOurs(m.TaskId));
        Receive<TaskCompleted>(m => Settle(m.TaskId, m.Attempt, () =>
            new ModelEvent(ModelEvent.FineTuneCompletedType, $"{_job.RunId}/{m.TaskId}", JsonDocument.Parse(m.EventJson).RootElement.Clone()), "completed"));
        Receive<TaskFailed>(m => m.TaskId == ClusterTask.UpstreamId && _job.Upstream is not null, m =>
        {
            Sender.Tell(new TaskSettled(m.TaskId));
            if (!_settled.Add(m.TaskId)) return;
            _running.Remove(m.TaskId);
            _log.Error("run {0} failed: upstream failed (attempt {1}): {2}; its fine-tune tasks will not run", _job.RunId, m.Attempt, m.Reason);
        });
        Receive<TaskFailed>(m => Settle(m.TaskId, m.Attempt, () =>
            ModelEvent.FineTuneFailed(new FineTuneFailed(_job.RunId, _job.Tasks.First(t => t.Name == m.TaskId), m.Reason), _job.Arch),
            $"failed ({m.Reason})"));
        Receive<Terminated>(t => Lost(t.ActorRef));
        Receive<ModelEventPublished>(_ => { });
    }

    private bool IsTask(string id) => _job.Tasks.Any(t => t.Name == id) || (id == ClusterTask.UpstreamId && _job.Upstream is not null);

    /// <summary>An outcome for a task of no run of ours (an older job's trainer): acknowledged so it stops, not announced.</summary>
    private void NotOurs(string taskId)
    {
        _log.Warning("an outcome for {0}, which is no task of run {1}: ignored", taskId, _job.RunId);
        Sender.Tell(new TaskSettled(taskId));
    }

    /// <summary>A free device asks: give it the next task, or keep it until one comes back.</summary>
    private void Offer(IActorRef slot, string node)
    {
        Watch(slot);
        var held = _running.Values.FirstOrDefault(a => a.Slot.Equals(slot));
        if (held is not null)
        {
            slot.Tell(held.Work); // a request that crossed the assignment: the same answer again
            return;
        }
        if (_queue.First is not { } first)
        {
            Park(slot, node);
            return;
        }
        _queue.RemoveFirst();
        var task = first.Value;
        var attempt = _attempts[task.Id] = _attempts.GetValueOrDefault(task.Id) + 1;
        var work = new WorkAssigned(_job.RunId, task, attempt, _backbone, _checkpoints.GetValueOrDefault(task.Id));
        _running[task.Id] = new Assignment(work, slot, node, Stopwatch.StartNew());
        _idle.RemoveAll(i => i.Slot.Equals(slot));
        _log.Info("task {0} attempt {1} → {2} ({3}){4}", task.Id, attempt, node, slot.Path,
            work.ResumeFrom is { } r ? $", resuming from step {r.NextStep}" : "");
        slot.Tell(work);
    }

    private void Park(IActorRef slot, string node)
    {
        Watch(slot);
        if (!_idle.Any(i => i.Slot.Equals(slot))) _idle.Add((slot, node));
    }

    private void Watch(IActorRef slot)
    {
        if (_watched.Add(slot)) Context.Watch(slot);
    }

    /// <summary>The first outcome of a task is announced; later ones (an attempt presumed lost that finished anyway) are only acknowledged.</summary>
    private void Settle(string taskId, int attempt, Func<ModelEvent> modelEvent, string outcome)
    {
        Sender.Tell(new TaskSettled(taskId));
        if (!_settled.Add(taskId))
        {
            _log.Info("task {0}: attempt {1} also {2}; already settled, not announced again", taskId, attempt, outcome);
            return;
        }
        if (_running.TryGetValue(taskId, out var a) && a.Work.Attempt == attempt) _running.Remove(taskId);
        else
        {
            // A superseded attempt finished first: the current one is moot.
            _running.Remove(taskId);
            for (var n = _queue.First; n is not null; n = n.Next) if (n.Value.Id == taskId) { _queue.Remove(n); break; }
        }
        _events.Tell(modelEvent());
        _log.Info("task {0} {1} (attempt {2}); {3} of {4} settled after {5:F1} s", taskId, outcome, attempt, _settled.Count, _job.TaskCount, _clock.Elapsed.TotalSeconds);
        LogIfFinished();
    }

    /// <summary>A device's node left or was downed: its task goes back to the front of the queue, with its last checkpoint.</summary>
    private void Lost(IActorRef slot)
    {
        Forget(slot);
        foreach (var a in _running.Values.Where(a => a.Slot.Equals(slot)).ToList())
        {
            _running.Remove(a.Work.Task.Id);
            _queue.AddFirst(a.Work.Task);
            var from = _checkpoints.GetValueOrDefault(a.Work.Task.Id)?.NextStep ?? 0;
            _log.Warning("task {0} attempt {1}: {2} is gone ({3} after it was assigned); back in the queue, to resume from step {4}",
                a.Work.Task.Id, a.Work.Attempt, a.Node, $"{a.Since.Elapsed.TotalSeconds:F1} s", from);
        }
        var idle = _idle.ToList();
        foreach (var (s, node) in idle)
            if (_queue.Count > 0) Offer(s, node);
    }

    private void Forget(IActorRef slot)
    {
        _idle.RemoveAll(i => i.Slot.Equals(slot));
        if (_watched.Remove(slot)) Context.Unwatch(slot);
    }

    private void LogIfFinished()
    {
        if (_settled.Count == _job.TaskCount)
            _log.Info("run {0}: all {1} task(s) settled after {2:F1} s", _job.RunId, _job.TaskCount, _clock.Elapsed.TotalSeconds);
    }
}
