using Akka;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Dsl;
using BitActors.Actors.Training;
using BitActors.Model.Recipe;
using BitActors.Streams.Datasets;
using BitActors.Streams.Images;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.FineTuning;

/// <summary>
/// What a task trains on: with all examples, their number (for the HyperRule) and nothing else held; few-shot, the
/// k drawn examples per class, kept in memory.
/// </summary>
public sealed record FineTuneExamples(long Count, IReadOnlyList<ImageRecord>? Shots)
{
    /// <summary>Drawn examples held out to validate on (VTAB-1k's 200); null: the split's own hold-out, if any.</summary>
    public IReadOnlyList<ImageRecord>? Validation { get; init; }

    /// <summary>The count the HyperRule sizes the run by.</summary>
    public int ForHyperRule => (int)Math.Min(int.MaxValue, Count);
}

/// <summary>
/// A fine-tune task's training feed, with memory bounded by its settings, not by the split: a task with all examples
/// streams its split from Kafka every epoch (ordered and seeded per task and epoch, so runs repeat) through the
/// shuffle buffer; a few-shot task draws its k per class in one streaming pass (<see cref="FewShotDraw{T}"/>) and
/// permutes them fully every epoch. Static, so tests reach the feed without actors.
/// </summary>
public static class FineTuneFeed
{
    /// <summary>
    /// The task's examples: few-shot, drawn in one pass; with all examples, counted from the manifest's class counts
    /// (less the validation hold-out, by its share) or, for a manifest without them (an older publish) or of multi-label data (where the class counts count an image
    /// once per label), by one pass that holds no record.
    /// </summary>
    public static async Task<FineTuneExamples> PrepareAsync(IFineTuneData data, DatasetManifest manifest, FineTuneTask task, IMaterializer materializer)
    {
        var usable = data.TrainRecords(manifest, task, epochs: 1).Where(r => r.Defect is null && task.Classes.Contains(r.Labels));
        if (task.Vtab1k)
        {
            var vtab = Vtab1k.Draw<ImageRecord>(task.Seed, r => r.Index);
            await usable.RunForeach(vtab.Offer, materializer);
            var (train, validation) = Vtab1k.Split(vtab, $"task {task.Name} on dataset '{manifest.Name}'");
            // Validated on in the order they were read: an evaluation pass refuses a record behind one already seen in its partition.
            return new FineTuneExamples(train.Count, train)
                { Validation = validation.OrderBy(r => r.Topic, StringComparer.Ordinal).ThenBy(r => r.Partition).ThenBy(r => r.Offset).ToList() };
        }
        if (task.Shots is int k)
        {
            var draw = new FewShotDraw<ImageRecord>(k, task.Seed, r => r.Index, r => r.Labels[0]);
            await usable.RunForeach(draw.Offer, materializer);
            var shots = draw.Result(task.Classes.Classes);
            return new FineTuneExamples(shots.Count, shots);
        }
        long? listed = manifest.MultiLabel ? null : manifest.Split("train").ImagesOf(task.Classes.Classes);
        var count = (listed is long n ? data.TrainPart?.Expected(n) ?? n : (long?)null) ?? await usable.RunAggregate(0L, (c, _) => c + 1, materializer);
        return new FineTuneExamples(count, null);
    }

    /// <summary>Training batches, epoch after epoch, each with fresh augmentation, from <paramref name="fromStep"/> on (replayed to it).</summary>
    public static Source<ImageBatch, NotUsed> Batches(IFineTuneData data, DatasetManifest manifest, FineTuneTask task, FineTuneExamples examples,
        AugmentSettings augment, FineTuneSettings settings, Action<RejectedRecord>? onRejected = null, int fromStep = 0)
    {
        // An epoch whose every record is refused would be replayed without end: the feed fails naming the task.
        var (records, refused) = RefusedEpochs.Watch(examples.Shots is { } shots ? Permuted(shots, task.Seed) : data.TrainRecords(manifest, task, epochs: null),
            $"task {task.Name}", onRejected);
        var batches = ImagePipelines.Train(records, task.Classes, augment, settings.Recipe.BatchSize,
            (int)Math.Clamp(examples.Count, 1, settings.Data.ShuffleBuffer), task.Seed, settings.Data.DecodeParallelism, refused,
            fromKafka: examples.Shots is null);
        return fromStep > 0 ? batches.Skip(fromStep) : batches;
    }

    /// <summary>
    /// The feed of a task on a published dataset, as a run builds it (rejected records only reported to
    /// <paramref name="onRejected"/>, not dead-lettered): for tests and benchmarks of the data path.
    /// </summary>
    public static async Task<(FineTuneExamples Examples, Source<ImageBatch, NotUsed> Batches)> FromKafkaAsync(KafkaEndpoint kafka, DatasetManifest manifest,
        FineTuneTask task, FineTuneSettings settings, AugmentSettings augment, IMaterializer materializer, Action<RejectedRecord>? onRejected = null)
    {
        var data = new KafkaFineTuneData(kafka, settings, NoLogger.Instance);
        var examples = await PrepareAsync(data, manifest, task, materializer);
        return (examples, Batches(data, manifest, task, examples, augment, settings, onRejected));
    }

    /// <summary>
    /// In-memory examples, epoch after epoch, each epoch a full permutation seeded by the task's seed and the epoch. No
    /// examples: refused (2³¹ empty epochs would pass without a batch).
    /// </summary>
    public static Source<ImageRecord, NotUsed> Permuted(IReadOnlyList<ImageRecord> examples, int seed) =>
        examples.Count == 0 ? throw new ArgumentException("no examples to train on", nameof(examples))
        : Source.From(Enumerable.Range(0, int.MaxValue)).SelectMany(epoch => Epoch(examples, seed, epoch));

    /// <summary>One epoch of <see cref="Permuted"/>.</summary>
    public static IReadOnlyList<ImageRecord> Epoch(IReadOnlyList<ImageRecord> examples, int seed, int epoch)
    {
        var order = examples.Select(r => r with { Epoch = epoch }).ToArray();
        new Random(unchecked(seed * 1_000_003 + epoch * 7_919 + 31)).Shuffle(order);
        return order;
    }
}
