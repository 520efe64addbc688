using Akka.Actor;
using Akka.Event;
using BitActors.Actors.Events;
using BitActors.Actors.Telemetry;
using BitActors.Actors.Training;
using BitActors.Streams.Telemetry;

namespace BitActors.Actors.FineTuning;

/// <summary>
/// Fans a finished backbone out to one <see cref="FineTuneWorker"/> per task (at most
/// <c>MaxConcurrentTasks</c> at once: on CPU, concurrent trainers only share the same cores), announces
/// each outcome on <c>bit.models</c>, and tells its parent when every task has finished. A failing task
/// (its worker retries from the task's own checkpoints first) is reported as failed and the others go on. A run of
/// thousands of tasks holds per finished task only what the run's report needs (<see cref="FineTuneCompleted.Compact"/>):
/// the whole evaluation went out with its event, or to <c>NAME.evaluation.json</c> beside its checkpoint.
/// </summary>
public sealed class FineTuneDispatcher : ReceiveActor
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly RunSpec _run;
    private readonly IActorRef _reporter;
    private readonly Queue<FineTuneTask> _waiting = new();
    private readonly Dictionary<IActorRef, FineTuneTask> _running = new();
    private readonly List<object> _outcomes = new();
    private Exception? _lastCrash;
    private IActorRef _events = ActorRefs.Nobody;
    private BackboneReady? _backbone;
    private readonly Func<TrainerSpec, Props>? _trainerProps;

    public FineTuneDispatcher(RunSpec run, IActorRef reporter, Func<TrainerSpec, Props>? trainerProps = null)
    {
        _run = run;
        _reporter = reporter;
        _trainerProps = trainerProps;
        Receive<BackboneReady>(b =>
        {
            _backbone = b;
            _events.Tell(ModelEvent.BackboneReady(b));
            foreach (var task in _run.Tasks) _waiting.Enqueue(task);
            StartNext();
            FinishIfDone();
        });
        Receive<FineTuneCompleted>(c =>
        {
            _running.Remove(Sender);
            Context.Unwatch(Sender);
            var announced = ModelEvent.FineTuneCompleted(c, _run.FineTune.MaxClassesInEvent); // the whole evaluation, before it is let go
            Record(c.Compact(_run.FineTune.MaxClassesInEvent), announced);
        });
        Receive<FineTuneFailed>(f =>
        {
            _running.Remove(Sender);
            Context.Unwatch(Sender);
            Record(f, ModelEvent.FineTuneFailed(f, _backbone?.Arch ?? "?"));
        });
        Receive<Terminated>(t =>
        {
            // A worker that stopped without reporting (it crashed while starting).
            if (!_running.Remove(t.ActorRef, out var task)) return;
            var failed = new FineTuneFailed(_run.RunId, task, _lastCrash?.Message ?? "stopped before it finished");
            _log.Error("task {0} failed: {1}", task.Name, failed.Reason);
            Record(failed, ModelEvent.FineTuneFailed(failed, _backbone?.Arch ?? "?"));
        });
        Receive<ModelEventPublished>(_ => { });
        Receive<DescribeBacklog>(_ =>
        {
            var (waiting, running, outcomes) = (_waiting.Count, _running.Count, _outcomes.Count);
            _events.Ask<PendingEvents>(new CountPendingEvents(), TimeSpan.FromSeconds(10))
                .ContinueWith(t => new FanOutBacklog(waiting, running, outcomes, t.IsCompletedSuccessfully ? t.Result.Count : -1))
                .PipeTo(Sender);
        });
        Receive<Status.Failure>(f => _log.Warning("model event not published: {0}", f.Cause.Message));
    }

    /// <param name="trainerProps">How the tasks' trainers are made (tests pass a fake); default <see cref="GpuTrainer.Props"/>.</param>
    public static Props Props(RunSpec run, IActorRef reporter, Func<TrainerSpec, Props>? trainerProps = null) =>
        Akka.Actor.Props.Create(() => new FineTuneDispatcher(run, reporter, trainerProps));

    protected override void PreStart() => _events = Context.ActorOf(ModelEventsPublisher.Props(_run.Kafka), "model-events");

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(e =>
    {
        _lastCrash = e;
        return Directive.Stop;
    });

    private void Record(object outcome, ModelEvent modelEvent)
    {
        _outcomes.Add(outcome);
        TrainingMeters.TaskEnded(completed: outcome is FineTuneCompleted);
        _reporter.Tell(outcome);
        _events.Tell(modelEvent);
        StartNext();
        FinishIfDone();
    }

    private void StartNext()
    {
        while (_running.Count < Math.Max(1, _run.FineTune.MaxConcurrentTasks) && _waiting.TryDequeue(out var task))
        {
            var worker = Context.ActorOf(FineTuneWorker.Props(_run, task, _backbone!, _reporter, _trainerProps), $"task-{Sanitize(task.Name)}");
            Context.Watch(worker);
            _running[worker] = task;
            TrainingMeters.TaskStarted();
        }
        BitMetrics.TasksQueued.Record(_waiting.Count);
    }

    private void FinishIfDone()
    {
        if (_running.Count == 0 && _waiting.Count == 0 && _backbone is not null)
        {
            // Events are told before this, and the publisher answers in order: flush, then report.
            _events.Ask<ModelEventPublished>(new FlushEvents(), TimeSpan.FromSeconds(30))
                .ContinueWith(_ => new AllTasksFinished(_outcomes.ToList()))
                .PipeTo(Context.Parent);
        }
    }

    private static string Sanitize(string name) => new(name.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' ? c : '-').ToArray());
}

/// <summary>Asks a <see cref="FineTuneDispatcher"/> what it holds: <see cref="FanOutBacklog"/> (for soaks and tests).</summary>
public sealed record DescribeBacklog;

/// <summary>Tasks not started, tasks running, outcomes kept for the report, and model events not yet delivered (-1: unknown).</summary>
public sealed record FanOutBacklog(int Waiting, int Running, int Outcomes, int PendingEvents);
