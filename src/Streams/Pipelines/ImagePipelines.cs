using Akka;
using Akka.Streams.Dsl;
using BitActors.Streams.Images;
using BitActors.Streams.Kafka;

namespace BitActors.Streams.Pipelines;

/// <summary>A record the pipeline could not use, and why (corrupt image, label outside the task).</summary>
public sealed record RejectedRecord(ImageRecord Record, string Reason);

/// <summary>
/// The data path from records to batches: parallel decode + augment (SkiaSharp, off the stream's
/// threads), a shuffle buffer, and batching into contiguous NCHW arrays. Bad records (defective, corrupt,
/// a label outside the task, an offset read twice in the epoch) are reported to <c>onRejected</c> and
/// dropped; they never fail the stream.
/// </summary>
public static class ImagePipelines
{
    /// <param name="multiLabel">Build the multi-hot <see cref="ImageBatch.Targets"/> from every label of a record.</param>
    /// <param name="fromKafka">
    /// The records come from a reader, partitions read forward: refuse one read twice in an epoch. False for examples
    /// held in memory (a few-shot draw), which are unique already and replayed in any order.
    /// </param>
    public static Source<ImageBatch, NotUsed> Train(
        Source<ImageRecord, NotUsed> records, ClassSubset classes, AugmentSettings augment,
        int batchSize, int shuffleBuffer, int seed, int parallelism, Action<RejectedRecord>? onRejected = null, bool multiLabel = false,
        bool fromKafka = true) =>
        Decoding(fromKafka ? RereadRecords.Refuse(records, onRejected) : records, parallelism, record => Prepare(record, classes, r =>
            {
                using var image = ImageCodec.Decode(r.Value);
                // Seeded per image and epoch: the same augmentation whatever thread or process runs it
                // (HashCode.Combine would differ between processes).
                var random = new Random(unchecked((int)(r.Index * 1_000_003L + r.Epoch * 7_919L + seed * 104_729L)));
                return Augment.TrainBytes(image, augment, random);
            }, onRejected))
            .SelectMany(s => s)
            .Via(new ShuffleBuffer<Sample>(shuffleBuffer, seed))
            .Grouped(batchSize)
            .Where(g => g.Count() == batchSize) // a short tail batch would skew the step's statistics
            .Select(g => ToBatch(g.ToList(), augment, multiLabel ? classes.Count : 0));

    public static Source<ImageBatch, NotUsed> Eval(
        Source<ImageRecord, NotUsed> records, ClassSubset classes, AugmentSettings augment,
        int batchSize, int parallelism, Action<RejectedRecord>? onRejected = null) =>
        Decoding(RereadRecords.Refuse(records, onRejected), parallelism, record => Prepare(record, classes, r =>
            {
                using var image = ImageCodec.Decode(r.Value);
                return Augment.EvalBytes(image, augment);
            }, onRejected))
            .SelectMany(s => s)
            .Grouped(batchSize)
            .Select(g => ToBatch(g.ToList(), augment));

    /// <summary>
    /// <paramref name="work"/> on every record, at most <paramref name="parallelism"/> at a time, the results in the
    /// records' order (so a seeded run repeats). The window of records in flight is twice the workers: with a window of
    /// exactly the workers, a worker that finished before the oldest record waited idle until that one was done.
    /// </summary>
    private static Source<Sample[], NotUsed> Decoding(Source<ImageRecord, NotUsed> records, int parallelism, Func<ImageRecord, Sample[]> work)
    {
        if (parallelism < 1) throw new ArgumentOutOfRangeException(nameof(parallelism), parallelism, "at least one decode worker");
        // One per pipeline built: the workers of this pipeline, whatever else uses the thread pool.
        var workers = new ConcurrentExclusiveSchedulerPair(TaskScheduler.Default, parallelism).ConcurrentScheduler;
        return records.SelectAsync(2 * parallelism, record =>
            Task.Factory.StartNew(() => work(record), CancellationToken.None, TaskCreationOptions.DenyChildAttach, workers));
    }

    /// <summary>Zero or one sample: a stream element must not be null.</summary>
    private static Sample[] Prepare(ImageRecord record, ClassSubset classes, Func<ImageRecord, byte[]> transform, Action<RejectedRecord>? onRejected)
    {
        if (record.Defect is not null)
        {
            onRejected?.Invoke(new RejectedRecord(record, record.Defect));
            return [];
        }
        try
        {
            var labels = classes.MapAll(record.Labels);
            return [new Sample(transform(record), labels, record.Index) { Source = new RecordId(record.Epoch, record.Partition, record.Offset) }];
        }
        catch (Exception e) when (e is CorruptImageException or InvalidDataException)
        {
            onRejected?.Invoke(new RejectedRecord(record, e.Message));
            return [];
        }
    }

    /// <param name="multiLabelClasses">0 = single-label; else the class count of the multi-hot targets.</param>
    public static ImageBatch ToBatch(IReadOnlyList<Sample> samples, AugmentSettings augment, int multiLabelClasses = 0)
    {
        int per = augment.PixelsPerSample;
        var pixels = new float[samples.Count * per];
        var labels = new int[samples.Count];
        var targets = multiLabelClasses > 0 ? new float[samples.Count * multiLabelClasses] : null;
        // Bytes to floats, spread over the cores: this stage is a single stream element at a time.
        Parallel.For(0, samples.Count, i => Augment.ToFloats(samples[i].Chw, pixels.AsSpan(i * per, per)));
        for (int i = 0; i < samples.Count; i++)
        {
            labels[i] = samples[i].Label;
            if (targets is not null)
                foreach (var l in samples[i].Labels) targets[i * multiLabelClasses + l] = 1f;
        }
        return new ImageBatch(pixels, [samples.Count, augment.Channels, augment.Crop, augment.Crop], labels, targets)
        {
            Records = samples.All(s => s.Source is not null) ? samples.Select(s => s.Source!.Value).ToArray() : null,
        };
    }
}
