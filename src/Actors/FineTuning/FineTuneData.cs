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
/// Where a <see cref="FineTuneWorker"/> gets its data: the dataset's manifest with the training records of the task's
/// classes (read once; the worker draws its examples from them), a place for the records the pipeline refuses, and one
/// evaluation pass over the test split. The worker only decides; this moves the data (tests give it records in memory).
/// </summary>
public interface IFineTuneData : IDisposable
{
    /// <summary>The manifest and every training record of <paramref name="task"/>'s classes, in any order.</summary>
    Task<(DatasetManifest Manifest, IReadOnlyList<ImageRecord> Train)> ReadTrainingSetAsync(FineTuneTask task, IMaterializer materializer);

    /// <summary>A record the pipeline could not use; called from the stream's threads.</summary>
    void Reject(RejectedRecord rejected);

    /// <summary>The trained model's results on the task's classes of the test split.</summary>
    Task<EvaluationResult> EvaluateAsync(DatasetManifest manifest, FineTuneTask task, AugmentSettings augment, IActorRef trainer, IMaterializer materializer);
}

/// <summary>Fine-tune data from Kafka: the manifest on bit.datasets, the split topics, rejects on bit.deadletter.</summary>
public sealed class KafkaFineTuneData(KafkaEndpoint kafka, FineTuneSettings settings, ILoggingAdapter log) : IFineTuneData
{
    private readonly Lazy<DeadLetters> _deadLetters = new(() => new DeadLetters(kafka, e => log.Warning(e)));

    public async Task<(DatasetManifest Manifest, IReadOnlyList<ImageRecord> Train)> ReadTrainingSetAsync(FineTuneTask task, IMaterializer materializer)
    {
        var manifest = await Task.Run(() => DatasetCatalog.Read(kafka, task.Dataset));
        var train = await KafkaRecordSource.Create(kafka, manifest.Split("train").Topic, epochs: 1, accept: task.Classes.AcceptFrom(manifest.Classes.Count))
            .RunWith(Sink.Seq<ImageRecord>(), materializer);
        return (manifest, train);
    }

    public void Reject(RejectedRecord rejected) => _deadLetters.Value.Send(rejected);

    public Task<EvaluationResult> EvaluateAsync(DatasetManifest manifest, FineTuneTask task, AugmentSettings augment, IActorRef trainer, IMaterializer materializer) =>
        TrainerEvaluation.RunAsync(kafka, manifest.Split("test").Topic, task.Classes, augment,
            settings.Data.EvalBatchSize, settings.Data.DecodeParallelism, trainer, materializer);

    public void Dispose()
    {
        if (_deadLetters.IsValueCreated) _deadLetters.Value.Dispose();
    }
}
