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
/// </summary>
public sealed class FineTuneWorker : ReceiveActor
{
    private sealed record DataReady(DatasetManifest Manifest, IReadOnlyList<ImageRecord> Train);
    private sealed record EvaluationFinished(EvaluationResult Result);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly RunSpec _run;
    private readonly FineTuneTask _task;
    private readonly BackboneReady _backbone;
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

    public FineTuneWorker(RunSpec run, FineTuneTask task, BackboneReady backbone, IActorRef reporter)
    {
        (_run, _task, _backbone, _reporter) = (run, task, backbone, reporter);
        Receive<DataReady>(m => StartTraining(m.Manifest, m.Train));
        Receive<Status.Failure>(f => Fail($"loading data failed: {f.Cause.Message}"));
    }

    public static Props Props(RunSpec run, FineTuneTask task, BackboneReady backbone, IActorRef reporter) =>
        Akka.Actor.Props.Create(() => new FineTuneWorker(run, task, backbone, reporter));

    private FineTuneSettings Settings => _run.FineTune;

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
        var manifest = await Task.Run(() => DatasetCatalog.Read(_run.BootstrapServers, _task.Dataset));
        var all = await KafkaRecordSource.Create(_run.BootstrapServers, manifest.Split("train").Topic, epochs: 1, accept: _task.Classes.AcceptFrom(manifest.Classes.Count))
            .RunWith(Sink.Seq<ImageRecord>(), materializer);
        // Few-shot draws come from usable records only (with all examples, the pipeline refuses the others by name).
        IReadOnlyList<ImageRecord> chosen = _task.Shots is int k
            ? FewShotSampler.Sample(all.Where(r => r.Defect is null && _task.Classes.Contains(r.Labels)).ToList(), r => r.Index, r => r.Labels[0], k, _task.Seed)
            : all;
        return new DataReady(manifest, chosen);
    }

    private void StartTraining(DatasetManifest manifest, IReadOnlyList<ImageRecord> train)
    {
        _deadLetters = new DeadLetters(_run.BootstrapServers, e => _log.Warning(e));
        _manifest = manifest;
        _examples = train.Count;
        var resolution = HyperRule.ResolutionFor(manifest.ImageSize.Height, manifest.ImageSize.Width, Settings.PaperResolution);
        _augment = Settings.Augment ?? new AugmentSettings(resolution.Precrop, resolution.Crop, _backbone.InChannels);
        _rule = HyperRule.Schedule(train.Count, Settings.BaseLr);
        _schedule = Settings.MaxSteps > 0 ? _rule.ScaledTo(Settings.MaxSteps) : _rule;
        _trainer = Context.ActorOf(GpuTrainer.Props(new TrainerSpec(_backbone.Arch, _task.Classes.Count, _backbone.InChannels,
            _task.FromScratch ? null : _backbone.Checkpoint.Path, ZeroHead: !_task.FromScratch, _task.Seed,
            HyperRule.Momentum, HyperRule.WeightDecay, HyperRule.MixUp(train.Count), Settings.MicroBatch, _run.Device,
            Norm: _backbone.Norm, WeightStandardization: _backbone.WeightStandardization)), "trainer");
        Context.Watch(_trainer);

        // The chosen examples, epoch after epoch, each epoch with fresh augmentation.
        var epochs = Source.From(Enumerable.Range(0, int.MaxValue))
            .SelectMany(epoch => train.Select(r => r with { Epoch = epoch }));
        var batches = ImagePipelines.Train(epochs, _task.Classes, _augment, Settings.BatchSize,
            Math.Min(Settings.ShuffleBuffer, Math.Max(1, train.Count)), _task.Seed, Settings.DecodeParallelism,
            r =>
            {
                _log.Warning("task {0}: skipped {1}: {2}", _task.Name, r.Record.Key, r.Reason);
                _deadLetters.Send(r);
            });
        _feed = BatchFeed.Run(batches, Self, _materializer, TimeSpan.FromMinutes(10));
        _log.Info($"task {_task.Name}: {train.Count} examples of classes {_task.Classes}, {(_task.FromScratch ? "from scratch" : "from backbone")}, " +
            $"{_schedule.TotalSteps} steps (HyperRule{(ReferenceEquals(_schedule, _rule) ? "" : $"'s {_rule.TotalSteps} scaled to max-steps")}), batch {Settings.BatchSize}, resize {_augment.Precrop} crop {_augment.Crop}");
        Become(Training);
    }

    private void Training()
    {
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
            if ((r.Step + 1) % Settings.ProgressEvery == 0 || r.Step + 1 == _schedule.TotalSteps)
            {
                var (stepSeconds, waitSeconds, rate) = _timer.Take();
                _reporter.Tell(new TrainingProgress(_run.RunId, _task.Name, r.Step + 1, _schedule.TotalSteps, r.Loss, r.Accuracy, r.LearningRate, rate, stepSeconds, waitSeconds));
            }
            if (r.Step + 1 >= _schedule.TotalSteps)
            {
                _feed?.Shutdown();
                Ack();
                Evaluate();
            }
            else Ack();
        });
        Receive<FeedEnded>(m =>
        {
            if (m.Error is not null) Fail($"data stream failed: {m.Error.Message}");
        });
        ReceiveTrainerLoss();
    }

    private void Evaluate()
    {
        TrainerEvaluation.RunAsync(_run.BootstrapServers, _manifest.Split("test").Topic, _task.Classes, _augment,
                Settings.EvalBatchSize, Settings.DecodeParallelism, _trainer, _materializer)
            .PipeTo(Self, success: result => new EvaluationFinished(result), failure: e => new Status.Failure(e));
        Become(() =>
        {
            Receive<EvaluationFinished>(m =>
            {
                _test = m.Result;
                var name = $"{_run.RunId}-{_task.Name}.bin";
                _trainer.Tell(new SaveCheckpoint(Path.Combine(_run.OutputDir, "checkpoints", name)));
            });
            Receive<CheckpointSaved>(m =>
            {
                Context.Parent.Tell(new FineTuneCompleted(_run.RunId, _task, _backbone.Arch, _examples, _schedule.TotalSteps, _test!, m.Checkpoint,
                    HyperParameters(), _clock.Elapsed));
                Context.Stop(Self);
            });
            Receive<Status.Failure>(f => Fail($"evaluation failed: {f.Cause.Message}"));
            Receive<FeedEnded>(_ => { });
            ReceiveTrainerLoss();
        });
    }

    protected override void PostStop() => _deadLetters?.Dispose();

    private void Ack()
    {
        _timer.Asked();
        _pendingAck?.Tell(BatchAccepted.Instance);
    }

    private void ReceiveTrainerLoss() =>
        Receive<Terminated>(t => t.ActorRef.Equals(_trainer),
            _ => Fail($"trainer failed at step {_nextStep}: {_trainerError?.Message ?? "stopped"}"));

    /// <summary>Reports the failure to the dispatcher and stops; the run's other tasks go on.</summary>
    private void Fail(string reason)
    {
        _log.Error("task {0} failed: {1}", _task.Name, reason);
        _feed?.Abort(new OperationCanceledException(reason));
        Context.Parent.Tell(new FineTuneFailed(_run.RunId, _task, reason));
        Context.Stop(Self);
    }

    private Dictionary<string, object> HyperParameters() => new()
    {
        ["rule"] = "bit-hyperrule",
        ["examples"] = _examples,
        ["shots"] = (object?)_task.Shots ?? "all",
        ["seed"] = _task.Seed,
        ["steps"] = _schedule.TotalSteps,
        ["hyperrule_steps"] = _rule.TotalSteps,
        ["warmup"] = _schedule.WarmupSteps,
        ["decay_at"] = _schedule.DecayBoundaries,
        ["base_lr"] = _schedule.BaseLr,
        ["batch"] = Settings.BatchSize,
        ["micro_batch"] = Settings.MicroBatch,
        ["momentum"] = HyperRule.Momentum,
        ["weight_decay"] = HyperRule.WeightDecay,
        ["mixup"] = HyperRule.MixUp(_examples),
        ["precrop"] = _augment.Precrop,
        ["crop"] = _augment.Crop,
        ["init"] = _task.FromScratch ? "scratch" : "backbone",
    };
}
