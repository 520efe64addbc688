using Akka;
using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Dsl;
using BitActors.Model.Training;
using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Training;

/// <summary>
/// Where the <see cref="TrainingSupervisor"/> gets its upstream data: the dataset's manifest (null while it
/// is not published), the training batches of every epoch, and one evaluation pass over the test split.
/// The supervisor only decides; this moves the data (tests give it a synthetic one).
/// </summary>
public interface IUpstreamData : IDisposable
{
    /// <summary>Blocking; called off the actor's thread. Null: not published (yet).</summary>
    DatasetManifest? TryReadManifest();

    /// <summary>Training batches from the run's first step on, epoch after epoch, without end.</summary>
    Source<ImageBatch, NotUsed> TrainBatches(DatasetManifest manifest);

    /// <summary>Training batches of a feed read in a consumer group, from where <paramref name="ledger"/> says (see <see cref="GroupLedger"/>).</summary>
    Source<ImageBatch, NotUsed> TrainBatches(DatasetManifest manifest, GroupLedger.Feed? ledger) => TrainBatches(manifest);

    /// <summary>The trained model's results on the upstream classes of the test split.</summary>
    Task<EvaluationResult> EvaluateAsync(DatasetManifest manifest, IActorRef trainer, IMaterializer materializer);

    /// <summary>The trained model's results on the upstream classes of the training split's validation hold-out; null: none.</summary>
    Task<EvaluationResult?> ValidateAsync(DatasetManifest manifest, IActorRef trainer, IMaterializer materializer) => Task.FromResult<EvaluationResult?>(null);
}

/// <summary>Upstream data from Kafka: the manifest on bit.datasets, the split topics, rejects on bit.deadletter.</summary>
public sealed class KafkaUpstreamData(RunSpec run, ILoggingAdapter log) : IUpstreamData
{
    private DeadLetters? _deadLetters;

    private UpstreamSettings Upstream => run.Upstream;

    public DatasetManifest? TryReadManifest() => DatasetCatalog.TryRead(run.Kafka, Upstream.Data.Dataset);

    public Source<ImageBatch, NotUsed> TrainBatches(DatasetManifest manifest) => TrainBatches(manifest, null);

    public Source<ImageBatch, NotUsed> TrainBatches(DatasetManifest manifest, GroupLedger.Feed? ledger)
    {
        _deadLetters ??= new DeadLetters(run.Kafka, e => log.Warning(e));
        return Feed(run.Kafka, manifest, Upstream, Reject, ledger);
    }

    /// <summary>
    /// The upstream training feed of a published dataset, without end. In a consumer group the members share the
    /// partitions and the group's commits say where it stands; alone, every epoch is read whole, in ordered mode
    /// with a partition order seeded by the run's seed and the epoch. Static, so tests reach it without actors.
    /// In a group, <paramref name="ledger"/> (if any) hears of every record emitted and refused, and of when the reader left.
    /// </summary>
    public static Source<ImageBatch, NotUsed> Feed(KafkaEndpoint kafka, DatasetManifest manifest, UpstreamSettings upstream, Action<RejectedRecord>? onRejected = null,
        GroupLedger.Feed? ledger = null)
    {
        var classes = upstream.Data.ClassesOf(manifest);
        var accept = classes.AcceptFrom(manifest.Classes.Count);
        var records = upstream.Data.ConsumerGroup.Length > 0
            ? KafkaRecordSource.CreateInGroup(kafka, manifest.Split("train"), upstream.Data.ConsumerGroup, epochs: null, accept: accept, ledger: ledger,
                    part: upstream.Data.TrainPart)
                .MapMaterializedValue(_ => NotUsed.Instance)
            : KafkaRecordSource.Create(kafka, manifest.Split("train"), epochs: null, accept: accept, ordered: upstream.Data.OrderedData, seed: upstream.Seed,
                part: upstream.Data.TrainPart);
        if (ledger is not null)
        {
            var reject = onRejected;
            onRejected = r =>
            {
                ledger.Refused(r.Record);
                reject?.Invoke(r);
            };
        }
        var (watched, refused) = RefusedEpochs.Watch(records, $"upstream dataset '{manifest.Name}' classes {classes}", onRejected);
        return ImagePipelines.Train(watched, classes, upstream.Data.Augment, upstream.Schedule.BatchSize, upstream.Data.ShuffleBuffer,
            upstream.Seed, upstream.Data.DecodeParallelism, refused, multiLabel: manifest.MultiLabel);
    }

    public Task<EvaluationResult> EvaluateAsync(DatasetManifest manifest, IActorRef trainer, IMaterializer materializer) =>
        TrainerEvaluation.RunAsync(run.Kafka, manifest.Split("test"), Upstream.Data.ClassesOf(manifest), Upstream.Data.Augment,
            256, Upstream.Data.DecodeParallelism, trainer, materializer, Upstream.Data.ConfusionMaxClasses);

    public async Task<EvaluationResult?> ValidateAsync(DatasetManifest manifest, IActorRef trainer, IMaterializer materializer) =>
        Upstream.Data.ValidationPart is { } part
            ? await TrainerEvaluation.HeldOutAsync(run.Kafka, manifest.Split("train"), part, Upstream.Data.ClassesOf(manifest), Upstream.Data.Augment,
                256, Upstream.Data.DecodeParallelism, trainer, materializer, Upstream.Data.ConfusionMaxClasses)
            : null;

    /// <summary>A record the pipeline could not use: logged and kept on bit.deadletter with the reason.</summary>
    private void Reject(RejectedRecord r)
    {
        log.Warning("skipped {0}: {1}", r.Record.Key, r.Reason);
        _deadLetters?.Send(r);
    }

    public void Dispose() => _deadLetters?.Dispose();
}
