using System.Diagnostics;
using Akka;
using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Dsl;
using BitActors.Actors.Training;
using BitActors.Model.Recipe;
using BitActors.Model.Training;
using BitActors.Streams.Datasets;
using BitActors.Streams.Images;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.FineTuning;

/// <summary>
/// One downstream task: draws its training examples (k shots per class with a seed, or all), builds a
/// trainer from the backbone with a zero-initialised head (or from scratch), fine-tunes with the
/// BiT-HyperRule's schedule, evaluates on the test split, saves the model and reports to its parent.
/// It checkpoints at the schedule's phase changes (and every <c>CheckpointEvery</c> steps); a trainer that
/// fails is replaced after a doubling backoff by one resumed from the task's last checkpoint, the data
/// replayed to that step; after <c>MaxRestarts</c> the task is reported as failed. The same worker runs a
/// cluster's attempt at a task (see <see cref="FineTuneAttempt"/>): started from an earlier attempt's
/// checkpoint, its checkpoints reported to the parent as they come.
/// </summary>
public sealed class FineTuneWorker : ReceiveActor, IWithTimers
{
    private sealed record RestartTrainer;

    private sealed record DataReady(DatasetManifest Manifest, IReadOnlyList<ImageRecord> Train);
    private sealed record EvaluationFinished(EvaluationResult Result);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly FineTuneAttempt _attempt;
    private readonly FineTuneTask _task;
    private readonly GivenBackbone _backbone;
    private readonly IActorRef _reporter;
    private readonly IMaterializer _materializer = Context.Materializer();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly StepTimer _timer = new();
    private DeadLetters _deadLetters = null!;
    private DatasetManifest _manifest = null!;
    private AugmentSettings _augment = null!;
    private StepSchedule _schedule = null!;
    private StepSchedule _rule = null!;
    private IActorRef _trainer = ActorRefs.Nobody;
    private UniqueKillSwitch? _feed;
    private IActorRef? _pendingAck;
    private int _nextStep, _examples;
    private EvaluationResult? _test;
    private Exception? _trainerError;
    private readonly Func<TrainerSpec, Props> _trainerProps;
    private IReadOnlyList<ImageRecord> _train = [];
    private TrainerSpec _trainerSpec = null!;
    private (string? Path, int Step) _lastCheckpoint;
    private int _restarts, _feedId;
    private readonly List<string> _resumable = new();

    public ITimerScheduler Timers { get; set; } = null!;

    public FineTuneWorker(FineTuneAttempt attempt, IActorRef reporter, Func<TrainerSpec, Props>? trainerProps = null)
    {
        (_attempt, _task, _backbone, _reporter) = (attempt, attempt.Task, attempt.Backbone, reporter);
        _lastCheckpoint = attempt.StartFrom ?? default;
        _trainerProps = trainerProps ?? GpuTrainer.Props;
        Receive<DataReady>(m => StartTraining(m.Manifest, m.Train));
        Receive<Status.Failure>(f => Fail($"loading data failed: {f.Cause.Message}"));
    }

    /// <param name="trainerProps">How trainers are made (tests pass a fake); default <see cref="GpuTrainer.Props"/>.</param>
    public static Props Props(RunSpec run, FineTuneTask task, BackboneReady backbone, IActorRef reporter, Func<TrainerSpec, Props>? trainerProps = null) =>
        Props(FineTuneAttempt.InRun(run, task, backbone), reporter, trainerProps);

    public static Props Props(FineTuneAttempt attempt, IActorRef reporter, Func<TrainerSpec, Props>? trainerProps = null) =>
        Akka.Actor.Props.Create(() => new FineTuneWorker(attempt, reporter, trainerProps));

    private FineTuneSettings Settings => _attempt.Settings;

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(e =>
    {
        _trainerError = e is ActorInitializationException { InnerException: { } inner } ? inner : e; // a failed start: its cause
        return Directive.Stop;
    });

    protected override void PreStart()
    {
        LoadTrainingSet(_materializer).PipeTo(Self, failure: e => new Status.Failure(e));
    }

    private async Task<DataReady> LoadTrainingSet(IMaterializer materializer)
    {
        var manifest = await Task.Run(() => DatasetCatalog.Read(_attempt.BootstrapServers, _task.Dataset));
        var all = await KafkaRecordSource.Create(_attempt.BootstrapServers, manifest.Split("train").Topic, epochs: 1, accept: _task.Classes.AcceptFrom(manifest.Classes.Count))
            .RunWith(Sink.Seq<ImageRecord>(), materializer);
        return new DataReady(manifest, Chosen(_task, all));
    }

    /// <summary>
    /// The records a task trains on, in an order that depends only on the dataset: by index, however the partitions'
    /// records interleaved as they were read (the seeded shuffle then repeats run after run). Few-shot draws come from
    /// usable records only; with all examples, the pipeline refuses the others by name.
    /// </summary>
    public static IReadOnlyList<ImageRecord> Chosen(FineTuneTask task, IEnumerable<ImageRecord> read)
    {
        var all = read.OrderBy(r => r.Index).ThenBy(r => r.Key, StringComparer.Ordinal).ToList();
        return task.Shots is int k
            ? FewShotSampler.Sample(all.Where(r => r.Defect is null && task.Classes.Contains(r.Labels)).ToList(), r => r.Index, r => r.Labels[0], k, task.Seed)
            : all;
    }

    /// <summary>
    /// The examples a task trains on, which the HyperRule sizes its run by: with all examples, records already known
    /// to be unusable (bad or missing labels, empty values, labels outside the task) are fed only to be
    /// dead-lettered, so they do not count; a few-shot draw holds usable records only.
    /// </summary>
    public static int UsableExamples(FineTuneTask task, IReadOnlyList<ImageRecord> train) =>
        task.Shots is null ? train.Count(r => r.Defect is null && task.Classes.Contains(r.Labels)) : train.Count;

    private void StartTraining(DatasetManifest manifest, IReadOnlyList<ImageRecord> train)
    {
        _deadLetters = new DeadLetters(_attempt.BootstrapServers, e => _log.Warning(e));
        _manifest = manifest;
        _examples = UsableExamples(_task, train);
        var resolution = HyperRule.ResolutionFor(manifest.ImageSize.Height, manifest.ImageSize.Width, Settings.Data.PaperResolution);
        _augment = Settings.Data.Augment is { } set ? set with { Channels = _backbone.InChannels } : new AugmentSettings(resolution.Precrop, resolution.Crop, _backbone.InChannels);
        _rule = HyperRule.Schedule(_examples, Settings.Recipe.BaseLr);
        _schedule = Settings.Recipe.MaxSteps > 0 ? _rule.ScaledTo(Settings.Recipe.MaxSteps) : _rule;
        _train = train;
        _trainerSpec = new TrainerSpec(_backbone.Arch, _task.Classes.Count, _backbone.InChannels,
            _task.FromScratch ? null : _backbone.Path, ZeroHead: !_task.FromScratch, _task.Seed,
            HyperRule.Momentum, HyperRule.WeightDecay, HyperRule.MixUp(_examples), Settings.Recipe.MicroBatch, _attempt.Device,
            Norm: _backbone.Norm, WeightStandardization: _backbone.WeightStandardization);
        StartTrainerAndFeed();
        _log.Info($"task {_attempt.Label}: {_examples} examples{(_examples < train.Count ? $" ({train.Count - _examples} unusable records dead-lettered)" : "")}, {_schedule.TotalSteps} steps, " +
            (_lastCheckpoint.Path is { } from ? $"resumed from step {_lastCheckpoint.Step} ({from})" : "from step 0") +
            $"; classes {_task.Classes}, {(_task.FromScratch ? "from scratch" : "from backbone")}, " +
            $"HyperRule{(ReferenceEquals(_schedule, _rule) ? "" : $"'s {_rule.TotalSteps} steps scaled to max-steps")}, batch {Settings.Recipe.BatchSize}, resize {_augment.Precrop} crop {_augment.Crop}");
        Become(Training);
    }

    /// <summary>A trainer from the task's last checkpoint (or its start) and a feed replayed to that step.</summary>
    private void StartTrainerAndFeed()
    {
        _nextStep = _lastCheckpoint.Step;
        _trainer = Context.ActorOf(_trainerProps(_trainerSpec with { ResumeFrom = _lastCheckpoint.Path }), $"trainer-{++_feedId}");
        Context.Watch(_trainer);

        // The chosen examples, epoch after epoch, each epoch with fresh augmentation.
        var epochs = Source.From(Enumerable.Range(0, int.MaxValue))
            .SelectMany(epoch => _train.Select(r => r with { Epoch = epoch }));
        var batches = ImagePipelines.Train(epochs, _task.Classes, _augment, Settings.Recipe.BatchSize,
            Math.Min(Settings.Data.ShuffleBuffer, Math.Max(1, _train.Count)), _task.Seed, Settings.Data.DecodeParallelism,
            r =>
            {
                _log.Warning("task {0}: skipped {1}: {2}", _task.Name, r.Record.Key, r.Reason);
                _deadLetters.Send(r);
            });
        if (_nextStep > 0) batches = batches.Skip(_nextStep);
        _feed = BatchFeed.Run(batches, Self, _materializer, TimeSpan.FromMinutes(10), _feedId);
    }

    /// <summary>The trainer died: restart it from the task's last checkpoint after a backoff, or report the task as failed.</summary>
    private void OnTrainerLost()
    {
        var reason = _trainerError?.Message ?? "stopped";
        _feed?.Abort(new OperationCanceledException("trainer lost"));
        _feed = null;
        if (_restarts >= Settings.Loop.MaxRestarts)
        {
            Fail(_restarts == 0 ? $"trainer failed at step {_nextStep}: {reason}"
                : $"trainer failed at step {_nextStep} and was restarted {_restarts} times already; last failure: {reason}");
            return;
        }
        _restarts++;
        var backoff = TimeSpan.FromSeconds(Settings.Loop.RestartBackoffSeconds * Math.Pow(2, _restarts - 1));
        _log.Warning($"task {_task.Name}: trainer failed at step {_nextStep} ({reason}); retry {_restarts} of {Settings.Loop.MaxRestarts} " +
            $"from step {_lastCheckpoint.Step} in {backoff.TotalSeconds:F1} s");
        _reporter.Tell(new FineTuneRetried(_attempt.RunId, _task.Name, _restarts, _lastCheckpoint.Step, reason));
        _trainerError = null;
        Timers.StartSingleTimer("restart", new RestartTrainer(), backoff);
        Become(() =>
        {
            Receive<RestartTrainer>(_ =>
            {
                StartTrainerAndFeed();
                Become(Training);
            });
            Receive<NextBatch>(_ => Sender.Tell(BatchAccepted.Instance));
            Receive<StepResult>(_ => { });
            Receive<CheckpointSaved>(_ => { });
            Receive<FeedEnded>(_ => { });
            Receive<EvaluationFinished>(_ => { });
            Receive<Status.Failure>(_ => { });
        });
    }

    private void Training()
    {
        Receive<NextBatch>(m => m.Feed != _feedId, _ => Sender.Tell(BatchAccepted.Instance)); // a replaced feed's
        Receive<NextBatch>(m =>
        {
            var lr = _schedule.LearningRate(_nextStep);
            if (lr is null) { Sender.Tell(BatchAccepted.Instance); return; }
            _pendingAck = Sender;
            _timer.BatchArrived();
            _trainer.Tell(new TrainOn(m.Batch, _nextStep++, lr.Value));
        });
        Receive<StepResult>(r =>
        {
            _timer.StepDone(r.Examples);
            int next = r.Step + 1;
            bool interval = Settings.Loop.CheckpointEvery > 0 && next % Settings.Loop.CheckpointEvery == 0;
            bool phaseChange = Settings.Loop.CheckpointAtPhaseChange && _schedule.Phase(next) != _schedule.Phase(r.Step);
            if ((interval || phaseChange) && next < _schedule.TotalSteps)
                _trainer.Tell(new SaveCheckpoint(_attempt.StepCheckpoint(next), next,
                    new TrainingPosition(_schedule, Settings.Recipe.BatchSize, (long)next * Settings.Recipe.BatchSize, $"{_task.Dataset} task {_task.Name}", _task.Seed)));
            if ((r.Step + 1) % Settings.Loop.ProgressEvery == 0 || r.Step + 1 == _schedule.TotalSteps)
            {
                var (stepSeconds, waitSeconds, rate) = _timer.Take();
                _reporter.Tell(new TrainingProgress(_attempt.RunId, _task.Name, r.Step + 1, _schedule.TotalSteps, r.Loss, r.Accuracy, r.LearningRate, rate, stepSeconds, waitSeconds));
            }
            if (r.Step + 1 >= _schedule.TotalSteps)
            {
                _feed?.Shutdown();
                Ack();
                Evaluate();
            }
            else Ack();
        });
        Receive<CheckpointSaved>(m => m.NextStep is int, OnResumableSaved);
        Receive<FeedEnded>(m =>
        {
            if (m.Feed == _feedId && m.Error is not null) Fail($"data stream failed: {m.Error.Message}");
        });
        ReceiveTrainerLoss();
    }

    private void Evaluate()
    {
        TrainerEvaluation.RunAsync(_attempt.BootstrapServers, _manifest.Split("test").Topic, _task.Classes, _augment,
                Settings.Data.EvalBatchSize, Settings.Data.DecodeParallelism, _trainer, _materializer)
            .PipeTo(Self, success: result => new EvaluationFinished(result), failure: e => new Status.Failure(e));
        Become(() =>
        {
            Receive<EvaluationFinished>(m =>
            {
                _test = m.Result;
                _trainer.Tell(new SaveCheckpoint(_attempt.Model));
            });
            Receive<CheckpointSaved>(m => m.NextStep is int, OnResumableSaved);
            Receive<CheckpointSaved>(m =>
            {
                if (!_attempt.ReportCheckpoints) DeleteResumable();
                Context.Parent.Tell(new FineTuneCompleted(_attempt.RunId, _task, _backbone.Arch, _examples, _schedule.TotalSteps, _test!, m.Checkpoint,
                    HyperParameters(), _clock.Elapsed));
                Context.Stop(Self);
            });
            Receive<Status.Failure>(f => Fail($"evaluation failed: {f.Cause.Message}"));
            Receive<FeedEnded>(_ => { });
            ReceiveTrainerLoss();
        });
    }

    protected override void PostStop() => _deadLetters?.Dispose();

    private void OnResumableSaved(CheckpointSaved m)
    {
        _lastCheckpoint = (m.Checkpoint.Path, m.NextStep!.Value);
        _resumable.Add(m.Checkpoint.Path);
        if (_attempt.ReportCheckpoints) Context.Parent.Tell(new TrainingCheckpointed(_attempt.RunId, m.NextStep.Value, m.Checkpoint.Path));
    }

    /// <summary>The task's model is saved: its resumable checkpoints (weights, momentum, hashes) are of no more use.</summary>
    private void DeleteResumable()
    {
        foreach (var path in _resumable)
            foreach (var file in new[] { path, path + ".sha256", path + ".state", path + ".state.sha256" })
            {
                try { File.Delete(file); }
                catch (IOException e) { _log.Warning("task {0}: could not delete {1}: {2}", _task.Name, file, e.Message); }
            }
    }

    private void Ack()
    {
        _timer.Asked();
        _pendingAck?.Tell(BatchAccepted.Instance);
    }

    private void ReceiveTrainerLoss()
    {
        Receive<Terminated>(t => t.ActorRef.Equals(_trainer), _ => OnTrainerLost());
        Receive<Terminated>(_ => { });  // a trainer already replaced
    }

    /// <summary>Reports the failure to the dispatcher and stops; the run's other tasks go on.</summary>
    private void Fail(string reason)
    {
        _log.Error("task {0} failed: {1}", _attempt.Label, reason);
        _feed?.Abort(new OperationCanceledException(reason));
        Context.Parent.Tell(new FineTuneFailed(_attempt.RunId, _task, reason));
        Context.Stop(Self);
    }

    private Dictionary<string, object> HyperParameters()
    {
        var parameters = HyperParametersOf(_task, _examples, _rule, _schedule, Settings, _augment);
        if (_attempt.Attempt > 0)
        {
            parameters["attempt"] = _attempt.Attempt;
            parameters["resumed_from_step"] = _attempt.StartFrom?.NextStep ?? 0;
        }
        return parameters;
    }

    /// <summary>What a fine-tune task was trained with, as its completed event and report give it (a cluster's attempt adds its number).</summary>
    private static Dictionary<string, object> HyperParametersOf(FineTuneTask task, int examples, StepSchedule rule, StepSchedule schedule,
        FineTuneSettings settings, AugmentSettings augment) => new()
    {
        ["rule"] = "bit-hyperrule",
        ["examples"] = examples,
        ["shots"] = (object?)task.Shots ?? "all",
        ["seed"] = task.Seed,
        ["steps"] = schedule.TotalSteps,
        ["hyperrule_steps"] = rule.TotalSteps,
        ["warmup"] = schedule.WarmupSteps,
        ["decay_at"] = schedule.DecayBoundaries,
        ["base_lr"] = schedule.BaseLr,
        ["batch"] = settings.Recipe.BatchSize,
        ["micro_batch"] = settings.Recipe.MicroBatch,
        ["momentum"] = HyperRule.Momentum,
        ["weight_decay"] = HyperRule.WeightDecay,
        ["mixup"] = HyperRule.MixUp(examples),
        ["precrop"] = augment.Precrop,
        ["crop"] = augment.Crop,
        ["init"] = task.FromScratch ? "scratch" : "backbone",
    };
}
