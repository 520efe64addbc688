using Akka;
using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Dsl;
using BitActors.Actors.Training;
using BitActors.Model.Training;
using BitActors.Streams.Datasets;
using BitActors.Streams.Images;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.FineTuning;

/// <summary>
/// Where a <see cref="FineTuneWorker"/> gets its data: the dataset's manifest, the training records of the task's classes
/// streamed epoch after epoch (never held whole: see <see cref="FineTuneFeed"/> for what is kept), a place for the records
/// the pipeline refuses, and one evaluation pass over the test split. The worker only decides; this moves the data
/// (tests give it records in memory).
/// </summary>
public interface IFineTuneData : IDisposable
{
    /// <summary>The manifest of the task's dataset.</summary>
    Task<DatasetManifest> ReadManifestAsync(FineTuneTask task);

    /// <summary>The part of the training split trained on (<see cref="TrainRecords"/>); null: every record.</summary>
    SplitPart? TrainPart => null;

    /// <summary>
    /// The training records of <paramref name="task"/>'s classes (and those with labels outside the dataset, for the
    /// pipeline to refuse by name), <paramref name="epochs"/> passes (null: without end), each epoch in an order that
    /// repeats for the task's seed and changes from epoch to epoch; <see cref="ImageRecord.Epoch"/> says which pass.
    /// </summary>
    Source<ImageRecord, NotUsed> TrainRecords(DatasetManifest manifest, FineTuneTask task, int? epochs);

    /// <summary>A record the pipeline could not use; called from the stream's threads.</summary>
    void Reject(RejectedRecord rejected);

    /// <summary>The trained model's results on the task's classes of the test split.</summary>
    Task<EvaluationResult> EvaluateAsync(DatasetManifest manifest, FineTuneTask task, AugmentSettings augment, IActorRef trainer, IMaterializer materializer);

    /// <summary>The trained model's results on the task's classes of the training split's validation hold-out; null: none.</summary>
    Task<EvaluationResult?> ValidateAsync(DatasetManifest manifest, FineTuneTask task, AugmentSettings augment, IActorRef trainer, IMaterializer materializer) =>
        Task.FromResult<EvaluationResult?>(null);
}

/// <summary>Fine-tune data from Kafka: the manifest on bit.datasets, the split topics, rejects on bit.deadletter.</summary>
public sealed class KafkaFineTuneData(KafkaEndpoint kafka, FineTuneSettings settings, ILoggingAdapter log) : IFineTuneData
{
    private readonly Lazy<DeadLetters> _deadLetters = new(() => new DeadLetters(kafka, e => log.Warning(e)));

    public Task<DatasetManifest> ReadManifestAsync(FineTuneTask task) => Task.Run(() => DatasetCatalog.Read(kafka, task.Dataset));

    public SplitPart? TrainPart => settings.Data.TrainPart;

    /// <summary>Ordered mode, seeded by the task: the same records in the same order run after run, so a resumed task replays its steps exactly.</summary>
    public Source<ImageRecord, NotUsed> TrainRecords(DatasetManifest manifest, FineTuneTask task, int? epochs) =>
        KafkaRecordSource.Create(kafka, manifest.Split("train"), epochs, task.Classes.AcceptFrom(manifest.Classes.Count),
            buffer: settings.Data.ShuffleBuffer, ordered: true, seed: task.Seed, part: settings.Data.TrainPart);

    public void Reject(RejectedRecord rejected) => _deadLetters.Value.Send(rejected);

    public Task<EvaluationResult> EvaluateAsync(DatasetManifest manifest, FineTuneTask task, AugmentSettings augment, IActorRef trainer, IMaterializer materializer) =>
        TrainerEvaluation.RunAsync(kafka, manifest.Split("test"), task.Classes, augment,
            settings.Data.EvalBatchSize, settings.Data.DecodeParallelism, trainer, materializer, settings.Data.ConfusionMaxClasses);

    public async Task<EvaluationResult?> ValidateAsync(DatasetManifest manifest, FineTuneTask task, AugmentSettings augment, IActorRef trainer, IMaterializer materializer) =>
        settings.Data.ValidationPart is { } part
            ? await TrainerEvaluation.HeldOutAsync(kafka, manifest.Split("train"), part, task.Classes, augment,
                settings.Data.EvalBatchSize, settings.Data.DecodeParallelism, trainer, materializer, settings.Data.ConfusionMaxClasses)
            : null;

    public void Dispose()
    {
        if (_deadLetters.IsValueCreated) _deadLetters.Value.Dispose();
    }
}
