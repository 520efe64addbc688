using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using BitActors.Actors.Events;
using BitActors.Actors.FineTuning;
using BitActors.Model.Checkpoints;
using BitActors.Model.Recipe;
using BitActors.Model.Training;
using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Training;

/// <summary>
/// Runs the upstream pre-training as a state machine and decides everything about it: waiting for the
/// dataset, then warmup, the base rate and each ÷10 decay phase (the learning rate of every step is its
/// own), evaluating, fanning out, done. It checkpoints every <c>CheckpointEvery</c> steps and at every
/// phase change, stops at the end or on <see cref="StopRun"/> (after a checkpoint), and hands the backbone
/// to the <see cref="FineTuneDispatcher"/>. Data comes from <see cref="IUpstreamData"/> (Kafka), the steps
/// are run by a <see cref="GpuTrainer"/> child. A trainer that fails (exception, NaN loss) is replaced after
/// a doubling backoff by one resumed from the last checkpoint, with the feed replayed to that step; after
/// <c>MaxRestarts</c> the run fails with the last reason. Reports phases, progress, restarts and the
/// outcome to <c>reporter</c>.
/// </summary>
public sealed class TrainingSupervisor : ReceiveActor, IWithTimers
{
    private sealed record ManifestPolled(DatasetManifest? Manifest, Exception? Error);
    private sealed record PollDataset;
    private sealed record RestartTrainer;
    private sealed record UpstreamEvaluated(EvaluationResult Result);

    private readonly ILoggingAdapter _log = Context.GetLogger();

    public ITimerScheduler Timers { get; set; } = null!;
    private readonly RunSpec _run;
    private readonly IActorRef _reporter;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private StepSchedule _schedule = null!;
    private IActorRef _trainer = ActorRefs.Nobody;
    private IActorRef _dispatcher = ActorRefs.Nobody;
    private UniqueKillSwitch? _feed;
    private IActorRef? _pendingAck;
    private int _nextStep;
    private StepResult? _last;
    private Exception? _trainerError;
    private BackboneReady? _backbone;
    private readonly StepTimer _timer = new();
    private readonly IUpstreamData _data;
    private readonly Func<RunSpec, IActorRef, Props> _dispatcherProps;
    private string? _phase;
    private DateTime _datasetDeadline;
    private bool _stopRequested;
    private string? _stopReason;
    private readonly IMaterializer _materializer = Context.Materializer();
    private DatasetManifest _manifest = null!;
    private EvaluationResult? _upstreamTest;

    private readonly Func<TrainerSpec, Props> _trainerProps;
    private (string? Path, int Step) _lastCheckpoint;
    private int _restarts, _feedId;
    private TrainerSpec _trainerSpec = null!;

    public TrainingSupervisor(RunSpec run, IActorRef reporter, Func<TrainerSpec, Props>? trainerProps = null, IUpstreamData? data = null,
        Func<RunSpec, IActorRef, Props>? dispatcherProps = null)
    {
        _run = run;
        _reporter = reporter;
        _trainerProps = trainerProps ?? GpuTrainer.Props;
        _data = data ?? new KafkaUpstreamData(run, _log);
        _dispatcherProps = dispatcherProps ?? ((r, reporter) => FineTuneDispatcher.Props(r, reporter));
        Loading();
    }

    /// <param name="trainerProps">How trainers are made (tests pass a fake); default <see cref="GpuTrainer.Props"/>.</param>
    /// <param name="data">Where the upstream data comes from; default Kafka (<see cref="KafkaUpstreamData"/>).</param>
    /// <param name="dispatcherProps">How the fan-out is made; default <see cref="FineTuneDispatcher.Props"/>.</param>
    public static Props Props(RunSpec run, IActorRef reporter, Func<TrainerSpec, Props>? trainerProps = null, IUpstreamData? data = null,
        Func<RunSpec, IActorRef, Props>? dispatcherProps = null) =>
        Akka.Actor.Props.Create(() => new TrainingSupervisor(run, reporter, trainerProps, data, dispatcherProps));


    private UpstreamSettings Upstream => _run.Upstream;

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(e =>
    {
        _trainerError = e is ActorInitializationException { InnerException: { } inner } ? inner : e; // a failed start: its cause
        return Directive.Stop;
    });

    protected override void PreStart()
    {
        if (_run.Backbone is { } given)
        {
            StartFromGivenBackbone(given);
            return;
        }
        EnterPhase(UpstreamPhase.WaitingForDataset, 0);
        _datasetDeadline = DateTime.UtcNow + TimeSpan.FromSeconds(Upstream.Data.DatasetWaitSeconds);
        ReadManifest();
    }

    private void ReadManifest() =>
        Task.Run(() => _data.TryReadManifest()).PipeTo(Self, success: m => new ManifestPolled(m, null), failure: e => new ManifestPolled(null, e));

    /// <summary>Waiting for the dataset: its manifest is read until it is published or <c>DatasetWaitSeconds</c> have passed.</summary>
    private void Loading()
    {
        Receive<ManifestPolled>(m => m.Manifest is not null, m => StartTraining(m.Manifest!));
        Receive<ManifestPolled>(m =>
        {
            if (DateTime.UtcNow >= _datasetDeadline)
            {
                Fail(m.Error is not null
                    ? $"cannot read dataset '{Upstream.Data.Dataset}': {m.Error.Message}"
                    : $"dataset '{Upstream.Data.Dataset}' is not published at {_run.BootstrapServers}" +
                      (Upstream.Data.DatasetWaitSeconds > 0 ? $" (waited {Upstream.Data.DatasetWaitSeconds:F0} s)" : "") +
                      $": run `bitactors publish --dataset {Upstream.Data.Dataset} …` first");
                return;
            }
            if (m.Error is not null) _log.Warning("reading dataset {0}: {1}; trying again", Upstream.Data.Dataset, m.Error.Message);
            else _log.Info("waiting for dataset {0} to be published at {1}", Upstream.Data.Dataset, _run.BootstrapServers);
            Timers.StartSingleTimer("poll-dataset", new PollDataset(), TimeSpan.FromSeconds(Math.Clamp(Upstream.Data.DatasetWaitSeconds / 10, 0.05, 2)));
        });
        Receive<PollDataset>(_ => ReadManifest());
        Receive<StopRun>(m => Stopped(m.Reason, 0, null));
    }

    private void StartTraining(DatasetManifest manifest)
    {
        _manifest = manifest;
        _schedule = Upstream.Schedule.ToStepSchedule();
        var channels = Upstream.Data.Augment.Channels;
        if (_run.ResumeFrom is not null)
        {
            var (step, position) = TrainingCheckpoint.ReadHeader(_run.ResumeFrom);
            _lastCheckpoint = (_run.ResumeFrom, step);
            if (position is { } saved)
            {
                if (saved.Conflict(Position(_lastCheckpoint.Step)) is { } conflict)
                {
                    Fail($"cannot resume from {_run.ResumeFrom}: it was written by another run ({conflict})");
                    return;
                }
                _log.Info("resuming from {0}: step {1}, {2:N0} examples already seen", _run.ResumeFrom, _lastCheckpoint.Step, saved.ExamplesSeen);
            }
        }
        _trainerSpec = new TrainerSpec(Upstream.Model.Arch, Upstream.Data.Classes.Count, channels, null, false, Upstream.Seed, WeightDecay: Upstream.Optimizer.WeightDecay,
            MixUpAlpha: Upstream.Optimizer.MixUpAlpha, MicroBatch: Upstream.Optimizer.MicroBatch, Device: _run.Device,
            MultiLabel: manifest.MultiLabel ? Upstream.Optimizer.MultiLabelLoss : null, Norm: Upstream.Model.Norm, WeightStandardization: Upstream.Model.WeightStandardization);
        _dispatcher = Context.ActorOf(_dispatcherProps(_run, _reporter), "finetune");
        Context.Watch(_dispatcher);
        StartTrainerAndFeed();
        _log.Info($"upstream: {Upstream.Model.Arch} on {Upstream.Data.Dataset} classes {Upstream.Data.Classes}, {Upstream.Schedule.Steps} steps at batch {Upstream.Schedule.BatchSize}, " +
            $"lr {_schedule.BaseLr} (warmup {_schedule.WarmupSteps}, ÷10 at {string.Join("/", _schedule.DecayBoundaries)}), weight decay {Upstream.Optimizer.WeightDecay}" +
            (Upstream.Optimizer.MixUpAlpha > 0 ? $", MixUp α {Upstream.Optimizer.MixUpAlpha}" : ""));
        Become(Training);
    }

    /// <summary>Where the run stands before <paramref name="nextStep"/>: its schedule and the examples consumed in the data's order.</summary>
    private TrainingPosition Position(int nextStep) =>
        new(_schedule, Upstream.Schedule.BatchSize, (long)nextStep * Upstream.Schedule.BatchSize,
            $"{_manifest.Split("train").Topic} classes {Upstream.Data.Classes}{(Grouped ? $" group {Upstream.Data.ConsumerGroup}" : Upstream.Data.OrderedData ? " ordered" : "")}", Upstream.Seed);

    private bool Grouped => Upstream.Data.ConsumerGroup.Length > 0;

    /// <summary>
    /// A trainer from the last checkpoint (or from scratch) and a batch feed from that step. Resuming replays
    /// the data from the run's start and drops the batches already trained on: the shuffle buffer then
    /// holds what it held in the uninterrupted run (exact, at the cost of decoding them again).
    /// </summary>
    private void StartTrainerAndFeed()
    {
        _nextStep = _lastCheckpoint.Step;
        _trainer = Context.ActorOf(_trainerProps(_trainerSpec with { ResumeFrom = _lastCheckpoint.Path }), $"upstream-trainer-{++_feedId}");
        Context.Watch(_trainer);
        var batches = _data.TrainBatches(_manifest);
        // In a consumer group the group's commits say where the run stands; alone, the data replays from the start.
        if (_nextStep > 0 && !Grouped) batches = Akka.Streams.Dsl.SourceOperations.Skip(batches, _nextStep);
        _feed = BatchFeed.Run(batches, Self, _materializer, TimeSpan.FromMinutes(10), _feedId);
    }

    /// <summary>The trainer died: restart it from the last checkpoint after a backoff, or give up.</summary>
    private void OnTrainerLost()
    {
        var reason = _trainerError?.Message ?? "stopped";
        _feed?.Abort(new OperationCanceledException("trainer lost"));
        _feed = null;
        if (_restarts >= Upstream.Loop.MaxRestarts)
        {
            Fail($"upstream trainer failed at step {_nextStep} and was restarted {_restarts} times already; last failure: {reason}");
            return;
        }
        _restarts++;
        var backoff = TimeSpan.FromSeconds(Upstream.Loop.RestartBackoffSeconds * Math.Pow(2, _restarts - 1));
        _log.Warning($"upstream trainer failed at step {_nextStep} ({reason}); restart {_restarts} of {Upstream.Loop.MaxRestarts} " +
            $"from step {_lastCheckpoint.Step} in {backoff.TotalSeconds:F1} s");
        _reporter.Tell(new TrainerRestarted(_run.RunId, _restarts, _lastCheckpoint.Step, reason));
        _trainerError = null;
        Timers.StartSingleTimer("restart", new RestartTrainer(), backoff);
        Become(() =>
        {
            Receive<RestartTrainer>(_ =>
            {
                StartTrainerAndFeed();
                Become(Training);
            });
            Receive<NextBatch>(m => Sender.Tell(BatchAccepted.Instance)); // from the aborted feed
            Receive<StepResult>(_ => { });
            Receive<CheckpointSaved>(_ => { });
            Receive<FeedEnded>(_ => { });
            Receive<Terminated>(t => t.ActorRef.Equals(_dispatcher), _ => Fail("fine-tune dispatcher stopped"));
            Receive<StopRun>(m => Stopped(m.Reason, _lastCheckpoint.Step, _lastCheckpoint.Path));
        });
    }

    private void Training()
    {
        Receive<NextBatch>(m => m.Feed != _feedId, m => Sender.Tell(BatchAccepted.Instance)); // a replaced feed's
        Receive<NextBatch>(m =>
        {
            var lr = _schedule.LearningRate(_nextStep);
            if (lr is null)
            {
                Sender.Tell(BatchAccepted.Instance);
                return;
            }
            _pendingAck = Sender;
            _timer.BatchArrived();
            EnterPhase(UpstreamPhase.Of(_schedule, _nextStep), _nextStep, lr);
            _trainer.Tell(new TrainOn(m.Batch, _nextStep++, lr.Value));
        });
        Receive<StepResult>(r =>
        {
            _last = r;
            _timer.StepDone(r.Examples);
            int next = r.Step + 1;
            bool interval = Upstream.Loop.CheckpointEvery > 0 && next % Upstream.Loop.CheckpointEvery == 0;
            bool phaseChange = Upstream.Loop.CheckpointAtPhaseChange && _schedule.Phase(next) != _schedule.Phase(r.Step);
            if ((interval || phaseChange) && next < _schedule.TotalSteps) SaveTrainingCheckpoint(next);
            if (next % Upstream.Loop.ProgressEvery == 0 || next == _schedule.TotalSteps) Report(r);
            if (next >= _schedule.TotalSteps)
            {
                _feed?.Shutdown();
                Ack();
                EnterPhase(UpstreamPhase.Evaluating, next);
                _data.EvaluateAsync(_manifest, _trainer, _materializer)
                    .PipeTo(Self, success: r => new UpstreamEvaluated(r), failure: e => new Status.Failure(e));
                Become(Checkpointing);
            }
            else Ack();
        });
        Receive<CheckpointSaved>(OnCheckpointSaved);
        Receive<FeedEnded>(m => m.Feed != _feedId, _ => { });
        Receive<FeedEnded>(m => Fail(m.Error is null ? "the data stream ended before the schedule did" : $"data stream failed: {m.Error.Message}"));
        Receive<Terminated>(t => t.ActorRef.Equals(_trainer), _ => OnTrainerLost());
        Receive<StopRun>(m => StopTraining(m.Reason));
        ReceiveTerminated();
    }

    private void SaveTrainingCheckpoint(int nextStep) =>
        _trainer.Tell(new SaveCheckpoint(Path.Combine(_run.OutputDir, "checkpoints", $"{_run.RunId}-upstream-step{nextStep}.bin"), nextStep, Position(nextStep)));

    private void OnCheckpointSaved(CheckpointSaved m)
    {
        _log.Info("checkpoint for step {0}: {1}", m.NextStep, m.Checkpoint.Path);
        if (m.NextStep is int next) _lastCheckpoint = (m.Checkpoint.Path, next);
        _reporter.Tell(new TrainingCheckpointed(_run.RunId, m.NextStep ?? _nextStep, m.Checkpoint.Path));
    }

    /// <summary>
    /// A graceful stop while training: no more batches; the trainer finishes the step it is on (its mailbox
    /// is in order), writes a resumable checkpoint at the next step, and the run stops naming it.
    /// </summary>
    private void StopTraining(string reason)
    {
        _log.Warning("stopping at step {0} ({1}): writing a checkpoint first", _nextStep, reason);
        _feed?.Shutdown();
        _feed = null;
        int stopAt = _nextStep;
        if (stopAt == _lastCheckpoint.Step && _lastCheckpoint.Path is not null)
        {
            Stopped(reason, stopAt, _lastCheckpoint.Path);
            return;
        }
        SaveTrainingCheckpoint(stopAt);
        Become(() =>
        {
            Receive<StepResult>(r => _last = r);
            Receive<NextBatch>(_ => Sender.Tell(BatchAccepted.Instance));
            Receive<CheckpointSaved>(m => m.NextStep != stopAt, OnCheckpointSaved);
            Receive<CheckpointSaved>(m =>
            {
                OnCheckpointSaved(m);
                Stopped(reason, stopAt, m.Checkpoint.Path);
            });
            Receive<FeedEnded>(_ => { });
            Receive<StopRun>(_ => { });
            Receive<Terminated>(t => t.ActorRef.Equals(_trainer), _ =>
                Stopped($"{reason}; the trainer failed before its checkpoint ({_trainerError?.Message ?? "stopped"})", _lastCheckpoint.Step, _lastCheckpoint.Path));
            Receive<Terminated>(_ => { });
        });
    }

    /// <summary>Reports the stop, naming what to resume from, and stops (children, feed and trainer with it).</summary>
    private void Stopped(string reason, int step, string? checkpoint, bool backboneFinished = false)
    {
        EnterPhase(UpstreamPhase.Stopped, step);
        _log.Warning("run {0} stopped at step {1} ({2}); {3}", _run.RunId, step, reason, checkpoint is null ? "nothing to resume from" : $"resume from {checkpoint}");
        _feed?.Abort(new OperationCanceledException(reason));
        _reporter.Tell(new RunStopped(_run.RunId, reason, step, checkpoint, backboneFinished));
        Context.Stop(Self);
    }

    private void Checkpointing()
    {
        Receive<StopRun>(m =>
        {
            _stopRequested = true; // the backbone is nearly written: finish it, then stop instead of fanning out
            _stopReason = m.Reason;
        });
        Receive<UpstreamEvaluated>(m =>
        {
            _upstreamTest = m.Result;
            _log.Info($"upstream test top-1 {m.Result.Top1:P2} on {m.Result.Examples} images of classes {Upstream.Data.Classes}");
            _trainer.Tell(new SaveCheckpoint(Path.Combine(_run.OutputDir, "checkpoints", $"{_run.RunId}-upstream-{Upstream.Model.Arch}.bin")));
        });
        Receive<Status.Failure>(f => Fail($"upstream evaluation failed: {f.Cause.Message}"));
        Receive<CheckpointSaved>(m => m.NextStep is not null, OnCheckpointSaved);
        Receive<CheckpointSaved>(m =>
        {
            Context.Stop(_trainer);
            if (_stopRequested)
            {
                Stopped(_stopReason!, _schedule.TotalSteps, m.Checkpoint.Path, backboneFinished: true);
                return;
            }
            _backbone = new BackboneReady(_run.RunId, Upstream.Model.Arch, Upstream.Data.Augment.Channels, m.Checkpoint, _schedule.TotalSteps,
                _last?.Loss ?? double.NaN, _last?.Accuracy ?? double.NaN, _upstreamTest!, _clock.Elapsed, Upstream.Model.Norm, Upstream.Model.WeightStandardization);
            _log.Info("backbone ready: {0} ({1:N0} bytes, sha256 {2}…)", m.Checkpoint.Path, m.Checkpoint.Bytes, m.Checkpoint.Sha256[..12]);
            _reporter.Tell(_backbone);
            _dispatcher.Tell(_backbone);
            EnterPhase(UpstreamPhase.FanningOut, _schedule.TotalSteps);
            Become(FanningOut);
        });
        Receive<FeedEnded>(_ => { });
        Receive<NextBatch>(_ => Sender.Tell(BatchAccepted.Instance));
        ReceiveTerminated();
    }

    /// <summary>No upstream run: the given checkpoint is the backbone (its hash is checked and reported), fanned out at once.</summary>
    private void StartFromGivenBackbone(GivenBackbone given)
    {
        try
        {
            _backbone = new BackboneReady(_run.RunId, given.Arch, given.InChannels, CheckpointFiles.Describe(given.Path), 0, double.NaN, double.NaN,
                new EvaluationResult(double.NaN, double.NaN, double.NaN, 0, [], []), TimeSpan.Zero, given.Norm, given.WeightStandardization);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Fail($"cannot use backbone {given.Path}: {e.Message}");
            return;
        }
        _log.Info("backbone given: {0} ({1}, {2:N0} bytes, sha256 {3}…); no upstream run", _backbone.Checkpoint.Path, _backbone.Checkpoint.Format,
            _backbone.Checkpoint.Bytes, _backbone.Checkpoint.Sha256[..12]);
        _dispatcher = Context.ActorOf(_dispatcherProps(_run, _reporter), "finetune");
        Context.Watch(_dispatcher);
        _reporter.Tell(_backbone);
        _dispatcher.Tell(_backbone);
        EnterPhase(UpstreamPhase.FanningOut, 0);
        Become(FanningOut);
    }

    private void FanningOut()
    {
        Receive<AllTasksFinished>(m =>
        {
            EnterPhase(UpstreamPhase.Done, _backbone!.Steps);
            _reporter.Tell(new RunCompleted(_run.RunId, _backbone!, m.Outcomes.OfType<FineTuneCompleted>().ToList(), m.Outcomes.OfType<FineTuneFailed>().ToList()));
            Context.Stop(Self);
        });
        Receive<FeedEnded>(_ => { });
        Receive<Terminated>(t => t.ActorRef.Equals(_dispatcher), _ => Fail($"fine-tune dispatcher stopped: {_trainerError?.Message ?? "unknown"}"));
        Receive<Terminated>(_ => { });
        // The backbone is written; the tasks in flight are dropped (each is a short run of its own).
        Receive<StopRun>(m => Stopped(m.Reason, _backbone!.Steps, _backbone.Checkpoint.Path, backboneFinished: true));
    }

    private void ReceiveTerminated()
    {
        Receive<Terminated>(t => Fail(t.ActorRef.Equals(_trainer)
            ? $"upstream trainer failed at step {_nextStep}: {_trainerError?.Message ?? "stopped"}"
            : $"{t.ActorRef.Path.Name} stopped: {_trainerError?.Message ?? "unknown"}"));
    }

    protected override void PostStop() => _data.Dispose();

    /// <summary>Reports a change of phase (once per phase).</summary>
    private void EnterPhase(string phase, int step, double? lr = null)
    {
        if (phase == _phase) return;
        _phase = phase;
        _log.Debug("upstream phase {0} from step {1}{2}", phase, step, lr is null ? "" : $" (lr {lr:G4})");  // the reporter logs it
        _reporter.Tell(new PhaseChanged(_run.RunId, phase, step, lr));
    }

    private void Ack()
    {
        _timer.Asked();
        _pendingAck?.Tell(BatchAccepted.Instance);
    }

    private void Report(StepResult r)
    {
        var (stepSeconds, waitSeconds, rate) = _timer.Take();
        _reporter.Tell(new TrainingProgress(_run.RunId, "upstream", r.Step + 1, _schedule.TotalSteps, r.Loss, r.Accuracy, r.LearningRate, rate, stepSeconds, waitSeconds));
    }

    private void Fail(string reason)
    {
        _log.Error("run {0} failed: {1}", _run.RunId, reason);
        EnterPhase(UpstreamPhase.Failed, _nextStep);
        _feed?.Abort(new OperationCanceledException(reason));
        _reporter.Tell(new RunFailed(_run.RunId, reason));
        Context.Stop(Self);
    }
}
