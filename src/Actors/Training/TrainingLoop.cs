using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using BitActors.Actors.Telemetry;
using BitActors.Model.Recipe;
using BitActors.Model.Training;

namespace BitActors.Actors.Training;

/// <summary>
/// One training run through a <see cref="StepSchedule"/>, for the parent that decides what it is for (the upstream
/// <see cref="TrainingSupervisor"/>, a fine-tune task's worker). It owns the trainer child and the batch feed: it hands
/// each batch to the trainer at its step's learning rate, acknowledges it (backpressure), writes a resumable
/// checkpoint every <c>CheckpointEvery</c> steps and at each phase change (never at the last step), and reports
/// progress and restarts to <c>reporter</c>. A trainer that fails (exception, NaN loss, a failed start) is replaced
/// after a doubling backoff by one resumed from the last checkpoint, the data replayed from that step; after
/// <c>MaxRestarts</c> the loop fails. At the end of the schedule it evaluates the model and saves it, then stops.
/// Its parent hears of checkpoints (<see cref="TrainingCheckpointed"/>), phases, the end and the outcome.
/// </summary>
public sealed class TrainingLoop : ReceiveActor, IWithTimers
{
    private sealed record RestartTrainer;
    private sealed record Evaluated(int Trainer, (EvaluationResult Test, EvaluationResult? Validation)? Result, Exception? Error);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly TrainingPlan _plan;
    private readonly IActorRef _reporter;
    private readonly Func<TrainerSpec, Props> _trainerProps;
    private readonly IMaterializer _materializer = Context.Materializer();
    private readonly StepTimer _timer = new();
    private readonly CheckpointChain _chain;
    private IActorRef _trainer = ActorRefs.Nobody;
    private UniqueKillSwitch? _feed;
    private IActorRef? _pendingAck;
    private (string? Path, int Step) _lastCheckpoint;
    private int _nextStep, _restarts, _trainerId, _phase = -1;
    private StepResult? _last;
    private (EvaluationResult Test, EvaluationResult? Validation)? _evaluated;
    private Exception? _trainerError;

    public ITimerScheduler Timers { get; set; } = null!;

    public TrainingLoop(TrainingPlan plan, IActorRef reporter, Func<TrainerSpec, Props> trainerProps)
    {
        (_plan, _reporter, _trainerProps) = (plan, reporter, trainerProps);
        _lastCheckpoint = plan.StartFrom;
        _chain = new CheckpointChain(plan.Settings.KeepCheckpoints, Path.GetDirectoryName(Path.GetFullPath(plan.CheckpointPath(0)))!, plan.StartFrom.Path);
    }

    /// <param name="trainerProps">How trainers are made (tests pass a fake); default <see cref="GpuTrainer.Props"/>.</param>
    public static Props Props(TrainingPlan plan, IActorRef reporter, Func<TrainerSpec, Props>? trainerProps = null) =>
        Akka.Actor.Props.Create(() => new TrainingLoop(plan, reporter, trainerProps ?? GpuTrainer.Props));

    private StepSchedule Schedule => _plan.Schedule;
    private LoopSettings Settings => _plan.Settings;

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(e =>
    {
        _trainerError = e is ActorInitializationException { InnerException: { } inner } ? inner : e; // a failed start: its cause
        return Directive.Stop;
    });

    protected override void PreStart() => StartTrainerAndFeed();

    /// <summary>
    /// A trainer from the last checkpoint (or the start) and a feed from that step: the parent's batches replay the
    /// data so that the shuffle holds what it held in the uninterrupted run (exact, at the cost of decoding again).
    /// </summary>
    private void StartTrainerAndFeed()
    {
        _nextStep = _lastCheckpoint.Step;
        _trainer = Context.Watch(Context.ActorOf(_trainerProps(_plan.Trainer with { ResumeFrom = _lastCheckpoint.Path }), $"trainer-{++_trainerId}"));
        _feed = BatchFeed.Run(_plan.Batches(_nextStep), Self, _materializer, TimeSpan.FromMinutes(10), _trainerId);
        Become(Training);
    }

    private void Training()
    {
        Receive<NextBatch>(m => m.Feed != _trainerId, _ => Sender.Tell(BatchAccepted.Instance)); // a replaced feed's
        Receive<NextBatch>(m =>
        {
            if (Schedule.LearningRate(_nextStep) is not double lr)
            {
                Sender.Tell(BatchAccepted.Instance);
                return;
            }
            _pendingAck = Sender;
            _timer.BatchArrived();
            if (Schedule.Phase(_nextStep) != _phase)
            {
                _phase = Schedule.Phase(_nextStep);
                Context.Parent.Tell(new SchedulePhaseEntered(_nextStep, lr));
            }
            _plan.Trained?.Invoke(m.Batch);
            _trainer.Tell(new TrainOn(m.Batch, _nextStep++, lr));
        });
        Receive<StepResult>(Stepped);
        Receive<CheckpointSaved>(m => m.NextStep is not null, Checkpointed);
        Receive<FeedEnded>(m => m.Feed != _trainerId, _ => { });
        Receive<FeedEnded>(m => Fail(m.Error is null ? "the data stream ended before the schedule did" : $"data stream failed: {m.Error.Message}"));
        Receive<StopTraining>(_ => Stop());
        ReceiveTrainerLoss();
    }

    private void Stepped(StepResult r)
    {
        _last = r;
        _timer.StepDone(r.Examples);
        int next = r.Step + 1;
        bool interval = Settings.CheckpointEvery > 0 && next % Settings.CheckpointEvery == 0;
        bool phaseChange = Settings.CheckpointAtPhaseChange && Schedule.Phase(next) != Schedule.Phase(r.Step);
        if ((interval || phaseChange) && next < Schedule.TotalSteps) SaveCheckpoint(next);
        if (next % Settings.ProgressEvery == 0 || next == Schedule.TotalSteps) Report(r);
        if (next < Schedule.TotalSteps)
        {
            Ack();
            return;
        }
        _feed?.Shutdown();
        Ack();
        Finish();
    }

    private void SaveCheckpoint(int nextStep) => _trainer.Tell(new SaveCheckpoint(_plan.CheckpointPath(nextStep), nextStep, _plan.Position(nextStep), _plan.Metadata));

    private void Checkpointed(CheckpointSaved m)
    {
        _lastCheckpoint = (m.Checkpoint.Path, m.NextStep!.Value);
        Context.Parent.Tell(new TrainingCheckpointed(_plan.RunId, m.NextStep.Value, m.Checkpoint.Path));
        foreach (var superseded in _chain.Add(m.Checkpoint.Path))
        {
            try { TrainingCheckpoint.Delete(superseded); }
            catch (IOException e) { _log.Warning("{0}: could not delete the superseded checkpoint {1}: {2}", _plan.Task, superseded, e.Message); }
        }
    }

    private async Task<(EvaluationResult, EvaluationResult?)> EvaluateAsync(IActorRef trainer)
    {
        var test = await _plan.Evaluate(trainer, _materializer);
        return (test, _plan.Validate is { } validate ? await validate(trainer, _materializer) : null);
    }

    /// <summary>The schedule is done: the trainer evaluates the model (test, then validation), then saves it where the plan says.</summary>
    private void Finish()
    {
        Context.Parent.Tell(new ScheduleFinished(Schedule.TotalSteps));
        int trainer = _trainerId;
        EvaluateAsync(_trainer)
            .PipeTo(Self, success: r => new Evaluated(trainer, r, null), failure: e => new Evaluated(trainer, null, e));
        Become(() =>
        {
            Receive<Evaluated>(m => m.Trainer != _trainerId, _ => { }); // a lost trainer's
            Receive<Evaluated>(m => m.Error is not null, m => Fail($"evaluation failed: {m.Error!.Message}"));
            Receive<Evaluated>(m =>
            {
                _evaluated = m.Result;
                _trainer.Tell(new SaveCheckpoint(_plan.ModelPath, Metadata: _plan.Metadata));
            });
            Receive<CheckpointSaved>(m => m.NextStep is not null, Checkpointed);
            Receive<CheckpointSaved>(m =>
            {
                Context.Parent.Tell(new TrainingFinished(_evaluated!.Value.Test, m.Checkpoint, _last) { Validation = _evaluated.Value.Validation });
                Context.Stop(Self);
            });
            Receive<NextBatch>(_ => Sender.Tell(BatchAccepted.Instance));
            Receive<FeedEnded>(_ => { });
            Receive<StopTraining>(_ => { }); // the model is nearly saved: the parent decides what follows
            ReceiveTrainerLoss();
        });
    }

    /// <summary>
    /// A graceful stop: no more batches; the trainer finishes the step it is on (its mailbox is in order), writes a
    /// resumable checkpoint at the next step, and the loop stops naming it.
    /// </summary>
    private void Stop()
    {
        _feed?.Shutdown();
        _feed = null;
        int stopAt = _nextStep;
        if (stopAt == _lastCheckpoint.Step && _lastCheckpoint.Path is not null)
        {
            Stopped(new TrainingStopped(stopAt, _lastCheckpoint.Path));
            return;
        }
        SaveCheckpoint(stopAt);
        Become(() =>
        {
            Receive<StepResult>(r => _last = r);
            Receive<NextBatch>(_ => Sender.Tell(BatchAccepted.Instance));
            Receive<CheckpointSaved>(m => m.NextStep != stopAt, Checkpointed);
            Receive<CheckpointSaved>(m =>
            {
                Checkpointed(m);
                Stopped(new TrainingStopped(stopAt, m.Checkpoint.Path));
            });
            Receive<FeedEnded>(_ => { });
            Receive<StopTraining>(_ => { });
            Receive<Terminated>(t => t.ActorRef.Equals(_trainer), _ =>
                Stopped(new TrainingStopped(_lastCheckpoint.Step, _lastCheckpoint.Path, _trainerError?.Message ?? "stopped")));
            Receive<Terminated>(_ => { });
        });
    }

    private void ReceiveTrainerLoss()
    {
        Receive<Terminated>(t => t.ActorRef.Equals(_trainer), _ => OnTrainerLost());
        Receive<Terminated>(_ => { }); // a trainer already replaced
    }

    /// <summary>The trainer died: restart it from the last checkpoint after a backoff, or give up.</summary>
    private void OnTrainerLost()
    {
        var reason = _trainerError?.Message ?? "stopped";
        _feed?.Abort(new OperationCanceledException("trainer lost"));
        _feed = null;
        if (_restarts >= Settings.MaxRestarts)
        {
            Fail(_restarts == 0 ? $"trainer failed at step {_nextStep}: {reason}"
                : $"trainer failed at step {_nextStep} and was restarted {_restarts} times already; last failure: {reason}");
            return;
        }
        _restarts++;
        var backoff = TimeSpan.FromSeconds(Settings.RestartBackoffSeconds * Math.Pow(2, _restarts - 1));
        _log.Warning($"{_plan.Task}: trainer failed at step {_nextStep} ({reason}); restart {_restarts} of {Settings.MaxRestarts} " +
            $"from step {_lastCheckpoint.Step} in {backoff.TotalSeconds:F1} s");
        _reporter.Tell(new TrainerRestarted(_plan.RunId, _plan.Task, _restarts, _lastCheckpoint.Step, reason));
        _trainerError = null;
        Timers.StartSingleTimer("restart", new RestartTrainer(), backoff);
        Become(() =>
        {
            Receive<RestartTrainer>(_ => StartTrainerAndFeed());
            // What the lost trainer and its aborted feed still send.
            Receive<NextBatch>(_ => Sender.Tell(BatchAccepted.Instance));
            Receive<StepResult>(_ => { });
            Receive<CheckpointSaved>(_ => { });
            Receive<FeedEnded>(_ => { });
            Receive<Evaluated>(_ => { });
            Receive<Terminated>(_ => { });
            Receive<StopTraining>(_ => Stopped(new TrainingStopped(_lastCheckpoint.Step, _lastCheckpoint.Path)));
        });
    }

    private void Ack()
    {
        _timer.Asked();
        _pendingAck?.Tell(BatchAccepted.Instance);
    }

    private void Report(StepResult r)
    {
        var (stepSeconds, waitSeconds, rate) = _timer.Take();
        var progress = new TrainingProgress(_plan.RunId, _plan.Task, r.Step + 1, Schedule.TotalSteps, r.Loss, r.Accuracy, r.LearningRate, rate, stepSeconds, waitSeconds);
        TrainingMeters.Record(progress);
        _reporter.Tell(progress);
    }

    private void Stopped(TrainingStopped stopped)
    {
        Context.Parent.Tell(stopped);
        Context.Stop(Self);
    }

    private void Fail(string reason)
    {
        _feed?.Abort(new OperationCanceledException(reason));
        Context.Parent.Tell(new TrainingFailed(reason, _nextStep));
        Context.Stop(Self);
    }
}
