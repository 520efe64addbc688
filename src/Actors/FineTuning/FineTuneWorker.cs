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
/// trainer from the backbone with a zero-initialised head (or from scratch), and has a <see cref="TrainingLoop"/>
/// fine-tune it with the BiT-HyperRule's schedule (checkpoints at its phase changes and every
/// <c>CheckpointEvery</c> steps; a failed trainer restarted from the task's last checkpoint, at most
/// <c>MaxRestarts</c> times), evaluate it on the test split and save it; then it reports to its parent. The same
/// worker runs a cluster's attempt at a task (see <see cref="FineTuneAttempt"/>): started from an earlier attempt's
/// checkpoint, its checkpoints reported to the parent as they come. Data comes from <see cref="IFineTuneData"/> (Kafka).
/// </summary>
public sealed class FineTuneWorker : ReceiveActor
{
    private sealed record DataReady(DatasetManifest Manifest, FineTuneExamples Examples);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly FineTuneAttempt _attempt;
    private readonly FineTuneTask _task;
    private readonly GivenBackbone _backbone;
    private readonly IActorRef _reporter;
    private readonly IFineTuneData _data;
    private readonly IMaterializer _materializer = Context.Materializer();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Func<TrainerSpec, Props> _trainerProps;
    private readonly List<string> _resumable = new();
    private AugmentSettings _augment = null!;
    private StepSchedule _schedule = null!;
    private StepSchedule _rule = null!;
    private IActorRef _loop = ActorRefs.Nobody;
    private int _examples;
    private int _microBatch;
    private Exception? _loopError;

    public FineTuneWorker(FineTuneAttempt attempt, IActorRef reporter, Func<TrainerSpec, Props>? trainerProps = null, IFineTuneData? data = null)
    {
        (_attempt, _task, _backbone, _reporter) = (attempt, attempt.Task, attempt.Backbone, reporter);
        _trainerProps = trainerProps ?? GpuTrainer.Props;
        _data = data ?? new KafkaFineTuneData(attempt.Kafka, attempt.Settings, _log);
        Receive<DataReady>(m => StartTraining(m.Manifest, m.Examples));
        Receive<Status.Failure>(f => Fail(f.Cause is InvalidDataException ? f.Cause.Message : $"loading data failed: {f.Cause.Message}"));
    }

    /// <param name="trainerProps">How trainers are made (tests pass a fake); default <see cref="GpuTrainer.Props"/>.</param>
    public static Props Props(RunSpec run, FineTuneTask task, BackboneReady backbone, IActorRef reporter, Func<TrainerSpec, Props>? trainerProps = null) =>
        Props(FineTuneAttempt.InRun(run, task, backbone), reporter, trainerProps);

    /// <param name="data">Where the task's data comes from; default Kafka (<see cref="KafkaFineTuneData"/>).</param>
    public static Props Props(FineTuneAttempt attempt, IActorRef reporter, Func<TrainerSpec, Props>? trainerProps = null, IFineTuneData? data = null) =>
        Akka.Actor.Props.Create(() => new FineTuneWorker(attempt, reporter, trainerProps, data));

    private FineTuneSettings Settings => _attempt.Settings;

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(e =>
    {
        _loopError = e;
        return Directive.Stop;
    });

    protected override void PreStart() => PrepareAsync().PipeTo(Self, failure: e => new Status.Failure(e));

    /// <summary>The manifest, then the examples: counted (all) or drawn (few-shot), see <see cref="FineTuneFeed.PrepareAsync"/>.</summary>
    private async Task<DataReady> PrepareAsync()
    {
        var manifest = await _data.ReadManifestAsync(_task);
        TrainingPreconditions.Check(manifest, _task.Classes, $"task {_task.Name}"); // before any record is read: a class missing, a split
        return new DataReady(manifest, await FineTuneFeed.PrepareAsync(_data, manifest, _task, _materializer));
    }

    private void StartTraining(DatasetManifest manifest, FineTuneExamples examples)
    {
        if (examples.Count == 0)
        {
            Fail($"task {_task.Name}: no training examples of classes {_task.Classes} in dataset '{manifest.Name}'");
            return;
        }
        _examples = examples.ForHyperRule;
        var resolution = HyperRule.ResolutionFor(manifest.ImageSize.Height, manifest.ImageSize.Width, Settings.Data.PaperResolution);
        _augment = Settings.Data.Augment is { } set ? set with { Channels = _backbone.InChannels } : new AugmentSettings(resolution.Precrop, resolution.Crop, _backbone.InChannels);
        _rule = HyperRule.Schedule(_examples, Settings.Recipe.BaseLrFor(_task.FromScratch));
        var maxSteps = _task.MaxSteps ?? Settings.Recipe.MaxSteps; // a suite caps each dataset's tasks on its own
        _schedule = maxSteps > 0 ? _rule.ScaledTo(maxSteps) : _rule;
        var model = new ModelChoice(_backbone.Arch, _backbone.Norm, _backbone.WeightStandardization);
        _microBatch = TrainerSpec.MicroBatchFor(Settings.Recipe.MicroBatch, model, _backbone.InChannels, Settings.Recipe.BatchSize, _augment.Crop, _attempt.Device);
        var trainer = new TrainerSpec
        {
            Model = model, InChannels = _backbone.InChannels,
            Classes = _task.Classes.Count, Backbone = _task.FromScratch ? null : _backbone.Path, ZeroHead = !_task.FromScratch,
            Training = new TrainingOptions(HyperRule.Momentum, HyperRule.WeightDecay, HyperRule.MixUp(_examples), _microBatch, _task.Seed),
            Device = _attempt.Device,
        };
        var start = _attempt.StartFrom is { } from ? (from.Path, from.NextStep) : ((string?)null, 0);
        var plan = new TrainingPlan(_attempt.RunId, _task.Name, trainer, _schedule,
            Settings.Loop,
            from => Batches(manifest, examples, from), _attempt.StepCheckpoint,
            next => new TrainingPosition(_schedule, Settings.Recipe.BatchSize, (long)next * Settings.Recipe.BatchSize, $"{_task.Dataset} ({manifest.Split("train").Layout}) task {_task.Name}{(Settings.Data.TrainPart is { } part ? $", {part}" : "")}", _task.Seed),
            start, (t, materializer) => _data.EvaluateAsync(manifest, _task, _augment, t, materializer), _attempt.Model)
        {
            Metadata = trainer.Describe(manifest, _task.Classes, _augment.Crop, _attempt.RunId, _task.Name),
            Validate = examples.Validation is { } held // VTAB-1k's 200 drawn examples, else the split's hold-out
                ? async (t, materializer) => await TrainerEvaluation.RunAsync(Source.From(held), _task.Classes, _augment, Settings.Data.EvalBatchSize,
                    Settings.Data.DecodeParallelism, t, materializer, Settings.Data.ConfusionMaxClasses)
                : (t, materializer) => _data.ValidateAsync(manifest, _task, _augment, t, materializer),
        };
        _loop = Context.Watch(Context.ActorOf(TrainingLoop.Props(plan, _reporter, _trainerProps), "training"));
        _log.Info($"task {_attempt.Label}: {_examples} examples, {_schedule.TotalSteps} steps, " +
            (start.Item1 is { } path ? $"resumed from step {start.Item2} ({path})" : "from step 0") +
            $"; examples {(examples.Shots is null ? "streamed from Kafka each epoch" : "drawn, held in memory")}; classes {_task.Classes}, {(_task.FromScratch ? "from scratch" : "from backbone")}, " +
            $"HyperRule{(ReferenceEquals(_schedule, _rule) ? "" : $"'s {_rule.TotalSteps} steps scaled to max-steps")}, batch {Settings.Recipe.BatchSize}" +
            (_microBatch < Settings.Recipe.BatchSize ? $" as micro-batches of {_microBatch}" : "") + $", resize {_augment.Precrop} crop {_augment.Crop}");
        Become(Training);
    }

    /// <summary>The task's batches from <paramref name="fromStep"/> (replayed to it); refused records are logged and dead-lettered.</summary>
    private Source<ImageBatch, NotUsed> Batches(DatasetManifest manifest, FineTuneExamples examples, int fromStep) =>
        FineTuneFeed.Batches(_data, manifest, _task, examples, _augment, Settings, r =>
        {
            _log.Warning("task {0}: skipped {1}: {2}", _task.Name, r.Record.Key, r.Reason);
            _data.Reject(r);
        }, fromStep);

    private void Training()
    {
        Receive<TrainingCheckpointed>(m =>
        {
            _resumable.Add(m.Path);
            if (_attempt.ReportCheckpoints) Context.Parent.Tell(m);
        });
        Receive<SchedulePhaseEntered>(_ => { });
        Receive<ScheduleFinished>(_ => { });
        Receive<TrainingFinished>(m =>
        {
            if (!_attempt.ReportCheckpoints) DeleteResumable();
            Context.Parent.Tell(new FineTuneCompleted(_attempt.RunId, _task, _backbone.Arch, _examples, _schedule.TotalSteps, m.Test, m.Model,
                HyperParameters(), _clock.Elapsed) { Validation = m.Validation });
            Context.Stop(Self);
        });
        Receive<TrainingFailed>(m => Fail(m.Reason));
        Receive<Terminated>(t => t.ActorRef.Equals(_loop), _ => Fail($"training stopped: {_loopError?.Message ?? "stopped"}"));
    }

    protected override void PostStop() => _data.Dispose();

    /// <summary>The task's model is saved: its resumable checkpoints (weights, momentum, hashes) are of no more use.</summary>
    private void DeleteResumable()
    {
        foreach (var path in _resumable)
        {
            try { TrainingCheckpoint.Delete(path); }
            catch (IOException e) { _log.Warning("task {0}: could not delete {1}: {2}", _task.Name, path, e.Message); }
        }
    }

    /// <summary>Reports the failure to the dispatcher and stops; the run's other tasks go on.</summary>
    private void Fail(string reason)
    {
        _log.Error("task {0} failed: {1}", _attempt.Label, reason);
        Context.Parent.Tell(new FineTuneFailed(_attempt.RunId, _task, reason));
        Context.Stop(Self);
    }

    private Dictionary<string, object> HyperParameters()
    {
        var parameters = HyperParametersOf(_task, _examples, _rule, _schedule, Settings, _augment, _microBatch);
        if (_attempt.Attempt > 0)
        {
            parameters["attempt"] = _attempt.Attempt;
            parameters["resumed_from_step"] = _attempt.StartFrom?.NextStep ?? 0;
        }
        return parameters;
    }

    /// <summary>What a fine-tune task was trained with, as its completed event and report give it (a cluster's attempt adds its number).</summary>
    private static Dictionary<string, object> HyperParametersOf(FineTuneTask task, int examples, StepSchedule rule, StepSchedule schedule,
        FineTuneSettings settings, AugmentSettings augment, int microBatch) => new()
    {
        ["rule"] = "bit-hyperrule",
        ["examples"] = examples,
        ["shots"] = (object?)task.Shots ?? "all",
        ["protocol"] = task.Vtab1k ? Vtab1k.Name : task.Shots is null ? "all" : "few-shot",
        ["seed"] = task.Seed,
        ["steps"] = schedule.TotalSteps,
        ["hyperrule_steps"] = rule.TotalSteps,
        ["warmup"] = schedule.WarmupSteps,
        ["decay_at"] = schedule.DecayBoundaries,
        ["base_lr"] = schedule.BaseLr,
        ["batch"] = settings.Recipe.BatchSize,
        ["micro_batch"] = microBatch,
        ["momentum"] = HyperRule.Momentum,
        ["weight_decay"] = HyperRule.WeightDecay,
        ["mixup"] = HyperRule.MixUp(examples),
        ["precrop"] = augment.Precrop,
        ["crop"] = augment.Crop,
        ["init"] = task.FromScratch ? "scratch" : "backbone",
    };
}
