using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Akka;
using Akka.Streams.Dsl;
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
/// Runs the upstream pre-training as a state machine and decides everything about it: waiting for the dataset, then
/// warmup, the base rate and each ÷10 decay phase (the learning rate of every step is its own), evaluating, fanning out, done. The steps themselves run in a <see cref="TrainingLoop"/> child (the
/// trainer, the feed, checkpoints every <c>CheckpointEvery</c> steps and at every phase change, restarts of a
/// failed trainer from the last checkpoint); the supervisor stops at the end or on <see cref="StopRun"/> (after a
/// checkpoint), and hands the backbone to the <see cref="FineTuneDispatcher"/>. Data comes from
/// <see cref="IUpstreamData"/> (Kafka). Reports phases, checkpoints and the outcome to <c>reporter</c> (the loop reports progress and restarts there too).
/// </summary>
public sealed class TrainingSupervisor : ReceiveActor, IWithTimers
{
    private sealed record ManifestPolled(DatasetManifest? Manifest, Exception? Error);
    private sealed record PollDataset;
    private sealed record ResumePointRead(DatasetManifest Manifest, int Step, TrainingPosition? Position);
    private sealed record BackboneDescribed(CheckpointFiles.Saved Checkpoint, CheckpointFiles.Saved Given);
    private sealed record Unusable(string Reason);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    public ITimerScheduler Timers { get; set; } = null!;
    private readonly RunSpec _run;
    private readonly IActorRef _reporter;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private StepSchedule _schedule = null!;
    private IActorRef _loop = ActorRefs.Nobody;
    private IActorRef _dispatcher = ActorRefs.Nobody;
    private BackboneReady? _backbone;
    private readonly IUpstreamData _data;
    private readonly GroupLedger? _ledger; // grouped: which records the checkpoints hold, see GroupLedger
    private readonly Func<TrainerSpec, Props> _trainerProps;
    private readonly Func<RunSpec, IActorRef, Props> _dispatcherProps;
    private string? _phase;
    private DateTime _datasetDeadline;
    private string? _stopReason;
    private DatasetManifest _manifest = null!;
    private (string? Path, int Step) _lastCheckpoint;
    private int _step;
    private Exception? _childError;

    public TrainingSupervisor(RunSpec run, IActorRef reporter, Func<TrainerSpec, Props>? trainerProps = null, IUpstreamData? data = null,
        Func<RunSpec, IActorRef, Props>? dispatcherProps = null)
    {
        (_run, _reporter, _trainerProps) = (run, reporter, trainerProps ?? GpuTrainer.Props);
        _data = data ?? new KafkaUpstreamData(run, _log);
        _ledger = run.Upstream.Data.ConsumerGroup.Length > 0 ? new GroupLedger() : null;
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

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(e => { _childError = e; return Directive.Stop; });

    protected override void PreStart()
    {
        if (_run.Backbone is { } given) { DescribeGivenBackbone(given); return; }
        EnterPhase(UpstreamPhase.WaitingForDataset, 0);
        _datasetDeadline = DateTime.UtcNow + TimeSpan.FromSeconds(Upstream.Data.DatasetWaitSeconds);
        ReadManifest();
    }

    private void ReadManifest() =>
        Task.Run(() => _data.TryReadManifest()).PipeTo(Self, success: m => new ManifestPolled(m, null), failure: e => new ManifestPolled(null, e));

    /// <summary>Waiting for the dataset: its manifest is read until it is published or <c>DatasetWaitSeconds</c> have passed.</summary>
    private void Loading()
    {
        Receive<ManifestPolled>(m => m.Manifest is not null, m => ReadResumePoint(m.Manifest!));
        Receive<ManifestPolled>(m =>
        {
            if (DateTime.UtcNow >= _datasetDeadline)
            {
                Fail(m.Error is not null
                    ? $"cannot read dataset '{Upstream.Data.Dataset}': {m.Error.Message}"
                    : $"dataset '{Upstream.Data.Dataset}' is not published at {_run.Kafka}" +
                      (Upstream.Data.DatasetWaitSeconds > 0 ? $" (waited {Upstream.Data.DatasetWaitSeconds:F0} s)" : "") +
                      $": run `bitactors publish --dataset {Upstream.Data.Dataset} …` first");
                return;
            }
            if (m.Error is not null) _log.Warning("reading dataset {0}: {1}; trying again", Upstream.Data.Dataset, m.Error.Message);
            else _log.Info("waiting for dataset {0} to be published at {1}", Upstream.Data.Dataset, _run.Kafka);
            Timers.StartSingleTimer("poll-dataset", new PollDataset(), TimeSpan.FromSeconds(Math.Clamp(Upstream.Data.DatasetWaitSeconds / 10, 0.05, 2)));
        });
        Receive<PollDataset>(_ => ReadManifest());
        Receive<StopRun>(m => Stopped(m.Reason, 0, null));
    }

    /// <summary>The step and position a resumed run continues from, read off the actor's thread (the checkpoint's header).</summary>
    private void ReadResumePoint(DatasetManifest manifest)
    {
        if (_run.ResumeFrom is not { } from)
        {
            StartTraining(manifest);
            return;
        }
        Task.Run(() => TrainingCheckpoint.ReadResumePoint(from)).PipeTo(Self,
            success: h => new ResumePointRead(manifest, h.Step, h.Position), failure: e => new Unusable($"cannot resume from {from}: {e.Message}"));
        Become(() =>
        {
            Receive<ResumePointRead>(r =>
            {
                _lastCheckpoint = (from, r.Step);
                if (!TrySchedule(r.Manifest)) return;
                if (r.Position is { } saved)
                {
                    _manifest = r.Manifest;
                    if (saved.Conflict(Position(r.Step)) is { } conflict)
                    {
                        Fail($"cannot resume from {from}: it was written by another run ({conflict})");
                        return;
                    }
                    _log.Info("resuming from {0}: step {1}, {2:N0} examples already seen", from, r.Step, saved.ExamplesSeen);
                    _ledger?.Resume(r.Step, saved.Resume);
                }
                if (_stopReason is { } reason) Stopped(reason, r.Step, from); // what it would have stopped at: the same checkpoint
                else StartTraining(r.Manifest);
            });
            Receive<Unusable>(u => Fail(u.Reason));
            Receive<StopRun>(m => _stopReason ??= m.Reason);
        });
    }

    /// <summary>The schedule for this dataset, checked first (see <see cref="UpstreamSettings.ScheduleFor"/>); false when the run cannot train on it (the run failed).</summary>
    private bool TrySchedule(DatasetManifest manifest)
    {
        try { _schedule ??= Upstream.ScheduleFor(manifest); }
        catch (Exception e) when (e is InvalidDataException or KeyNotFoundException or OverflowException) { Fail(e.Message); return false; }
        return true;
    }

    private void StartTraining(DatasetManifest manifest)
    {
        _manifest = manifest;
        if (!TrySchedule(manifest)) return;
        var trainer = new TrainerSpec
        {
            Model = Upstream.Model, InChannels = Upstream.Data.Augment.Channels, Classes = Upstream.Data.ClassesOf(manifest).Count,
            Training = new TrainingOptions(WeightDecay: Upstream.Optimizer.WeightDecay, MixUpAlpha: Upstream.Optimizer.MixUpAlpha,
                MicroBatch: TrainerSpec.MicroBatchFor(Upstream.Optimizer.MicroBatch, Upstream.Model, Upstream.Data.Augment.Channels,
                    Upstream.Schedule.BatchSize, Upstream.Data.Augment.Crop, _run.Device), Seed: Upstream.Seed, MultiLabel: Upstream.Optimizer.MultiLabelLoss),
            MultiLabel = manifest.MultiLabel, Device = _run.Device,
        };
        var plan = new TrainingPlan(_run.RunId, "upstream", trainer, _schedule,
            Upstream.Loop,
            Batches, next => CheckpointPath($"step{next}"), next => Position(next) with { Resume = _ledger?.PositionAt(next) }, _lastCheckpoint,
            (t, materializer) => _data.EvaluateAsync(manifest, t, materializer), CheckpointPath(Upstream.Model.Arch, ".safetensors"))
        {
            Metadata = trainer.Describe(manifest, Upstream.Data.ClassesOf(manifest), Upstream.Data.Augment.Crop, _run.RunId, "upstream"),
            Trained = _ledger is null ? null : _ledger.Trained, Validate = (t, materializer) => _data.ValidateAsync(manifest, t, materializer),
        };
        _dispatcher = Context.Watch(Context.ActorOf(_dispatcherProps(_run, _reporter), "finetune"));
        _loop = Context.Watch(Context.ActorOf(TrainingLoop.Props(plan, _reporter, _trainerProps), "upstream"));
        _step = _lastCheckpoint.Step;
        _log.Info($"upstream: {Upstream.Model.Arch} on {Upstream.Data.Dataset} classes {Upstream.Data.ClassesOf(manifest)}, {_schedule.TotalSteps} steps at batch {Upstream.Schedule.BatchSize}, " +
            $"lr {_schedule.BaseLr} (warmup {_schedule.WarmupSteps}, ÷10 at {string.Join("/", _schedule.DecayBoundaries)}), weight decay {Upstream.Optimizer.WeightDecay}" +
            (Upstream.Optimizer.MixUpAlpha > 0 ? $", MixUp α {Upstream.Optimizer.MixUpAlpha}" : ""));
        Become(Training);
    }

    /// <summary>
    /// The training batches from <paramref name="nextStep"/>: alone, the data replays from the run's start and the
    /// batches already trained on are dropped; in a consumer group the group is rewound to the position recorded there.
    /// </summary>
    private Source<ImageBatch, NotUsed> Batches(int nextStep) =>
        _ledger is null ? _data.TrainBatches(_manifest).Skip(nextStep) : _data.TrainBatches(_manifest, _ledger.StartFeed(nextStep));

    private string CheckpointPath(string suffix, string extension = ".bin") => Path.Combine(_run.OutputDir, "checkpoints", $"{_run.RunId}-upstream-{suffix}{extension}");

    /// <summary>Where the run stands before <paramref name="nextStep"/>: its schedule and the examples consumed in the data's order.</summary>
    private TrainingPosition Position(int nextStep) =>
        new(_schedule, Upstream.Schedule.BatchSize, (long)nextStep * Upstream.Schedule.BatchSize,
            $"{_manifest.Split("train").Topic} ({_manifest.Split("train").Layout}) classes {Upstream.Data.ClassesOf(_manifest)}{(_ledger is not null ? $" group {Upstream.Data.ConsumerGroup}" : Upstream.Data.OrderedData ? " ordered" : "")}{(Upstream.Data.TrainPart is { } part ? $", {part}" : "")}", Upstream.Seed);

    private void Training()
    {
        ReceiveFromLoop();
        Receive<ScheduleFinished>(m =>
        {
            _step = m.Steps;
            EnterPhase(UpstreamPhase.Evaluating, m.Steps);
            Become(Checkpointing);
        });
        Receive<StopRun>(m => StopTraining(m.Reason));
        ReceiveTerminated();
    }

    /// <summary>What the loop says while it trains, in any state that waits for it.</summary>
    private void ReceiveFromLoop()
    {
        Receive<SchedulePhaseEntered>(m =>
        {
            _step = m.Step;
            EnterPhase(UpstreamPhase.Of(_schedule, m.Step), m.Step, m.LearningRate);
        });
        Receive<TrainingCheckpointed>(m =>
        {
            _log.Info("checkpoint for step {0}: {1}", m.NextStep, m.Path);
            (_lastCheckpoint, _step) = ((m.Path, m.NextStep), m.NextStep);
            _reporter.Tell(m);
        });
        Receive<TrainingFailed>(m => Fail($"upstream {m.Reason}", m.Step));
    }

    /// <summary>
    /// A graceful stop while training: the loop stops feeding, the trainer finishes the step it is on, writes a
    /// resumable checkpoint at the next step, and the run stops naming it.
    /// </summary>
    private void StopTraining(string reason)
    {
        _log.Warning("stopping at step {0} ({1}): writing a checkpoint first", _step, reason);
        _loop.Tell(new StopTraining());
        Become(() =>
        {
            ReceiveFromLoop();
            Receive<TrainingStopped>(m => Stopped(m.TrainerFailure is null ? reason : $"{reason}; the trainer failed before its checkpoint ({m.TrainerFailure})",
                m.Step, m.Checkpoint));
            // The loop had already finished its schedule: the backbone is written, the run stops instead of fanning out.
            Receive<ScheduleFinished>(_ => { });
            Receive<TrainingFinished>(m => Stopped(reason, _schedule.TotalSteps, m.Model.Path, backboneFinished: true));
            Receive<StopRun>(_ => { });
            Receive<Terminated>(t => t.ActorRef.Equals(_loop), _ => Stopped(reason, _lastCheckpoint.Step, _lastCheckpoint.Path));
            Receive<Terminated>(_ => { });
        });
    }

    /// <summary>Reports the stop, naming what to resume from, and stops (children, loop and trainer with it).</summary>
    private void Stopped(string reason, int step, string? checkpoint, bool backboneFinished = false)
    {
        EnterPhase(UpstreamPhase.Stopped, step);
        _log.Warning("run {0} stopped at step {1} ({2}); {3}", _run.RunId, step, reason, checkpoint is null ? "nothing to resume from" : $"resume from {checkpoint}");
        _reporter.Tell(new RunStopped(_run.RunId, reason, step, checkpoint, backboneFinished));
        Context.Stop(Self);
    }

    /// <summary>Evaluating and saving the backbone (in the loop); a stop now lets it finish, then stops instead of fanning out.</summary>
    private void Checkpointing()
    {
        ReceiveFromLoop(); // a trainer lost now is restarted: its steps again, then this again
        Receive<ScheduleFinished>(_ => { });
        Receive<StopRun>(m => _stopReason = m.Reason);
        Receive<TrainingFinished>(m =>
        {
            _log.Info($"upstream test top-1 {m.Test.Top1:P2} on {m.Test.Examples} images of classes {Upstream.Data.ClassesOf(_manifest)}{Held(m.Validation)}");
            if (_stopReason is { } reason)
            {
                Stopped(reason, _schedule.TotalSteps, m.Model.Path, backboneFinished: true);
                return;
            }
            _backbone = new BackboneReady(_run.RunId, Upstream.Model.Arch, Upstream.Data.Augment.Channels, m.Model, _schedule.TotalSteps,
                m.Last?.Loss ?? double.NaN, m.Last?.Accuracy ?? double.NaN, m.Test, _clock.Elapsed, Upstream.Model.Norm, Upstream.Model.WeightStandardization) { Validation = m.Validation };
            _log.Info("backbone ready: {0} ({1:N0} bytes, sha256 {2}…)", m.Model.Path, m.Model.Bytes, m.Model.Sha256[..12]);
            FanOut(_schedule.TotalSteps);
        });
        ReceiveTerminated();
    }

    private static string Held(EvaluationResult? v) => v is null ? "" : $"; validation top-1 {v.Top1:P2} on {v.Examples} held-out images";

    /// <summary>No upstream run: the given checkpoint is the backbone, hashed (and made safetensors) off the actor's thread, then fanned out.</summary>
    private void DescribeGivenBackbone(GivenBackbone given)
    {
        Task.Run(() => given.Announceable(Path.Combine(_run.OutputDir, "checkpoints", $"{_run.RunId}-backbone.safetensors"))).PipeTo(Self,
            success: s => new BackboneDescribed(s.Announced, s.Given), failure: e => new Unusable($"cannot use backbone {given.Path}: {e.Message}"));
        Become(() =>
        {
            Receive<BackboneDescribed>(m =>
            {
                _backbone = new BackboneReady(_run.RunId, given.Arch, given.InChannels, m.Checkpoint, 0, double.NaN, double.NaN,
                    new EvaluationResult(double.NaN, double.NaN, double.NaN, 0, [], []), TimeSpan.Zero, given.Norm, given.WeightStandardization)
                    { Given = m.Given.Path == m.Checkpoint.Path ? null : m.Given };
                _log.Info("backbone given: {0} ({1}, {2:N0} bytes, sha256 {3}…), announced as {4}; no upstream run", m.Given.Path, m.Given.Format,
                    m.Given.Bytes, m.Given.Sha256[..12], m.Checkpoint.Path);
                _dispatcher = Context.Watch(Context.ActorOf(_dispatcherProps(_run, _reporter), "finetune"));
                if (_stopReason is { } reason) Stopped(reason, 0, given.Path, backboneFinished: true);
                else FanOut(0);
            });
            Receive<Unusable>(u => Fail(u.Reason));
            Receive<StopRun>(m => _stopReason ??= m.Reason);
        });
    }

    private void FanOut(int steps)
    {
        _reporter.Tell(_backbone!);
        _dispatcher.Tell(_backbone!);
        EnterPhase(UpstreamPhase.FanningOut, steps);
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
        Receive<Terminated>(t => t.ActorRef.Equals(_dispatcher), _ => Fail($"fine-tune dispatcher stopped: {_childError?.Message ?? "unknown"}"));
        Receive<Terminated>(_ => { }); // the loop, done
        // The backbone is written; the tasks in flight are dropped (each is a short run of its own).
        Receive<StopRun>(m => Stopped(m.Reason, _backbone!.Steps, _backbone.Checkpoint.Path, backboneFinished: true));
    }

    private void ReceiveTerminated()
    {
        Receive<Terminated>(t => Fail(t.ActorRef.Equals(_loop)
            ? $"upstream training stopped at step {_step}: {_childError?.Message ?? "stopped"}"
            : $"{t.ActorRef.Path.Name} stopped: {_childError?.Message ?? "unknown"}"));
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

    private void Fail(string reason, int? step = null)
    {
        _log.Error("run {0} failed: {1}", _run.RunId, reason);
        EnterPhase(UpstreamPhase.Failed, step ?? _step);
        _reporter.Tell(new RunFailed(_run.RunId, reason));
        Context.Stop(Self);
    }
}
