using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Dsl;
using BitActors.Actors.Training;
using BitActors.Model.Architecture;
using BitActors.Model.Recipe;
using BitActors.Model.Training;
using BitActors.Streams.Datasets;
using BitActors.Streams.Images;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Cluster;

/// <summary>What a trainer node runs: one attempt at a task, from the backbone (a local, verified path) or from a checkpoint.</summary>
public sealed record TaskAttempt(string RunId, ClusterTask Task, int Attempt, ClusterBackbone Backbone, string BackbonePath,
    (string Path, int NextStep)? ResumeFrom);

/// <summary>The attempt wrote a resumable checkpoint to the artifact store.</summary>
public sealed record WorkerCheckpointed(TaskCheckpoint Checkpoint);

public sealed record WorkerFinished(FineTuneCompleted Completed);

public sealed record WorkerFailed(string Reason);

/// <summary>
/// One attempt at a fine-tune task on a trainer node, as <see cref="FineTuning.FineTuneWorker"/> runs a task
/// (HyperRule schedule, few-shot draw, zero head, evaluation on the test split), plus what a cluster needs: a
/// resumable checkpoint in the artifact store every <c>checkpointEvery</c> steps, and a start from such a
/// checkpoint, with the data replayed to that step (the seeded draw and shuffle repeat, so the resumed run sees
/// the batches the lost one would have seen). Reports to its parent.
/// </summary>
public sealed class ResumableFineTuneWorker : ReceiveActor
{
    private sealed record DataReady(DatasetManifest Manifest, IReadOnlyList<ImageRecord> Train);
    private sealed record EvaluationFinished(EvaluationResult Result);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly TaskAttempt _attempt;
    private readonly FineTuneTask _task;
    private readonly FineTuneSettings _settings;
    private readonly string _bootstrapServers, _device;
    private readonly ArtifactStore _store;
    private readonly int _checkpointEvery;
    private readonly IMaterializer _materializer = Context.Materializer();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private DeadLetters _deadLetters = null!;
    private DatasetManifest _manifest = null!;
    private AugmentSettings _augment = null!;
    private StepSchedule _schedule = null!, _rule = null!;
    private IActorRef _trainer = ActorRefs.Nobody;
    private UniqueKillSwitch? _feed;
    private IActorRef? _pendingAck;
    private int _nextStep, _examples;
    private EvaluationResult? _test;
    private Exception? _trainerError;

    public ResumableFineTuneWorker(TaskAttempt attempt, FineTuneSettings settings, string bootstrapServers, string device, ArtifactStore store, int checkpointEvery)
    {
        (_attempt, _settings, _bootstrapServers, _device, _store, _checkpointEvery) = (attempt, settings, bootstrapServers, device, store, checkpointEvery);
        _task = attempt.Task.ToFineTuneTask();
        Receive<DataReady>(m => StartTraining(m.Manifest, m.Train));
        Receive<Status.Failure>(f => Fail($"loading data failed: {f.Cause.Message}"));
    }

    public static Props Props(TaskAttempt attempt, FineTuneSettings settings, string bootstrapServers, string device, ArtifactStore store, int checkpointEvery) =>
        Akka.Actor.Props.Create(() => new ResumableFineTuneWorker(attempt, settings, bootstrapServers, device, store, checkpointEvery));

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(e =>
    {
        _trainerError = e is ActorInitializationException { InnerException: { } inner } ? inner : e;
        return Directive.Stop;
    });

    protected override void PreStart() => LoadTrainingSet().PipeTo(Self, failure: e => new Status.Failure(e));

    private async Task<DataReady> LoadTrainingSet()
    {
        var manifest = await Task.Run(() => DatasetCatalog.Read(_bootstrapServers, _task.Dataset));
        var all = await KafkaRecordSource.Create(_bootstrapServers, manifest.Split("train").Topic, epochs: 1, accept: _task.Classes.Contains)
            .RunWith(Sink.Seq<ImageRecord>(), _materializer);
        IReadOnlyList<ImageRecord> chosen = _task.Shots is int k ? FewShotSampler.Sample(all, r => r.Index, r => r.Labels[0], k, _task.Seed) : all;
        return new DataReady(manifest, chosen);
    }

    private void StartTraining(DatasetManifest manifest, IReadOnlyList<ImageRecord> train)
    {
        var backbone = _attempt.Backbone;
        _deadLetters = new DeadLetters(_bootstrapServers, e => _log.Warning(e));
        _manifest = manifest;
        _examples = train.Count;
        var resolution = HyperRule.ResolutionFor(manifest.ImageSize.Height, manifest.ImageSize.Width, _settings.PaperResolution);
        _augment = _settings.Augment is { } set ? set with { Channels = backbone.InChannels } : new AugmentSettings(resolution.Precrop, resolution.Crop, backbone.InChannels);
        _rule = HyperRule.Schedule(train.Count, _settings.BaseLr);
        _schedule = _settings.MaxSteps > 0 ? _rule.ScaledTo(_settings.MaxSteps) : _rule;
        _nextStep = _attempt.ResumeFrom?.NextStep ?? 0;
        var norm = KnownModels.ParseNorm(backbone.Norm);
        _trainer = Context.ActorOf(GpuTrainer.Props(new TrainerSpec(backbone.Arch, _task.Classes.Count, backbone.InChannels,
            _task.FromScratch ? null : _attempt.BackbonePath, ZeroHead: !_task.FromScratch, _task.Seed,
            HyperRule.Momentum, HyperRule.WeightDecay, HyperRule.MixUp(train.Count), _settings.MicroBatch, _device,
            ResumeFrom: _attempt.ResumeFrom?.Path, Norm: norm, WeightStandardization: backbone.WeightStandardization)), "trainer");
        Context.Watch(_trainer);

        var epochs = Source.From(Enumerable.Range(0, int.MaxValue)).SelectMany(epoch => train.Select(r => r with { Epoch = epoch }));
        var batches = ImagePipelines.Train(epochs, _task.Classes, _augment, _settings.BatchSize,
            Math.Min(_settings.ShuffleBuffer, Math.Max(1, train.Count)), _task.Seed, _settings.DecodeParallelism,
            r =>
            {
                _log.Warning("task {0}: skipped {1}: {2}", _task.Name, r.Record.Key, r.Reason);
                _deadLetters.Send(r);
            });
        if (_nextStep > 0) batches = SourceOperations.Skip(batches, _nextStep);
        _feed = BatchFeed.Run(batches, Self, _materializer, TimeSpan.FromMinutes(10));
        _log.Info($"task {_task.Name} attempt {_attempt.Attempt}: {train.Count} examples, {_schedule.TotalSteps} steps, " +
            (_nextStep > 0 ? $"resumed from step {_nextStep} ({_attempt.ResumeFrom!.Value.Path})" : "from step 0"));
        Become(Training);
    }

    private void Training()
    {
        Receive<NextBatch>(m =>
        {
            var lr = _schedule.LearningRate(_nextStep);
            if (lr is null) { Sender.Tell(BatchAccepted.Instance); return; }
            _pendingAck = Sender;
            _trainer.Tell(new TrainOn(m.Batch, _nextStep++, lr.Value));
        });
        Receive<StepResult>(r =>
        {
            if ((r.Step + 1) % _settings.ProgressEvery == 0) _log.Info("task {0}: step {1}/{2} loss {3:F4}", _task.Name, r.Step + 1, _schedule.TotalSteps, r.Loss);
            if (r.Step + 1 >= _schedule.TotalSteps)
            {
                _feed?.Shutdown();
                _pendingAck?.Tell(BatchAccepted.Instance);
                Evaluate();
                return;
            }
            if (_checkpointEvery > 0 && (r.Step + 1) % _checkpointEvery == 0)
                _trainer.Tell(new SaveCheckpoint(_store.PathOf($"{_attempt.RunId}/tasks/{_task.Name}/attempt{_attempt.Attempt}-step{r.Step + 1}.bin"), r.Step + 1));
            _pendingAck?.Tell(BatchAccepted.Instance);
        });
        Receive<CheckpointSaved>(m =>
        {
            var weights = _store.Describe(m.Checkpoint.Path);
            var state = _store.Describe(TrainingCheckpoint.StatePath(m.Checkpoint.Path));
            _log.Info("task {0}: checkpoint at step {1}: {2}", _task.Name, m.NextStep, m.Checkpoint.Path);
            Context.Parent.Tell(new WorkerCheckpointed(new TaskCheckpoint(weights, state, m.NextStep ?? _nextStep)));
        });
        Receive<FeedEnded>(m => { if (m.Error is not null) Fail($"data stream failed: {m.Error.Message}"); });
        ReceiveTrainerLoss();
    }

    private void Evaluate()
    {
        TrainerEvaluation.RunAsync(_bootstrapServers, _manifest.Split("test").Topic, _task.Classes, _augment,
                _settings.EvalBatchSize, _settings.DecodeParallelism, _trainer, _materializer)
            .PipeTo(Self, success: result => new EvaluationFinished(result), failure: e => new Status.Failure(e));
        Become(() =>
        {
            Receive<EvaluationFinished>(m =>
            {
                _test = m.Result;
                _trainer.Tell(new SaveCheckpoint(_store.PathOf($"{_attempt.RunId}/models/{_task.Name}-attempt{_attempt.Attempt}.bin")));
            });
            Receive<CheckpointSaved>(m => m.NextStep is null, m =>
            {
                Context.Parent.Tell(new WorkerFinished(new FineTuneCompleted(_attempt.RunId, _task, _attempt.Backbone.Arch, _examples, _schedule.TotalSteps,
                    _test!, m.Checkpoint, HyperParameters(), _clock.Elapsed)));
                Context.Stop(Self);
            });
            Receive<CheckpointSaved>(_ => { }); // a step checkpoint asked for just before the last step
            Receive<Status.Failure>(f => Fail($"evaluation failed: {f.Cause.Message}"));
            Receive<FeedEnded>(_ => { });
            ReceiveTrainerLoss();
        });
    }

    protected override void PostStop() => _deadLetters?.Dispose();

    private void ReceiveTrainerLoss() =>
        Receive<Terminated>(t => t.ActorRef.Equals(_trainer), _ => Fail($"trainer failed at step {_nextStep}: {_trainerError?.Message ?? "stopped"}"));

    private void Fail(string reason)
    {
        _log.Error("task {0} attempt {1} failed: {2}", _task.Name, _attempt.Attempt, reason);
        _feed?.Abort(new OperationCanceledException(reason));
        Context.Parent.Tell(new WorkerFailed(reason));
        Context.Stop(Self);
    }

    private Dictionary<string, object> HyperParameters()
    {
        var parameters = FineTuning.FineTuneWorker.HyperParametersOf(_task, _examples, _rule, _schedule, _settings, _augment);
        parameters["attempt"] = _attempt.Attempt;
        parameters["resumed_from_step"] = _attempt.ResumeFrom?.NextStep ?? 0;
        return parameters;
    }
}
