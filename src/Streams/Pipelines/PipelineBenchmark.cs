using System.Diagnostics;
using Akka.Streams;
using Akka.Streams.Dsl;
using BitActors.Streams.Datasets;
using BitActors.Streams.Images;
using BitActors.Streams.Kafka;

namespace BitActors.Streams.Pipelines;

/// <summary>Images per second, measured from the first batch (or image) to the last, and how many were counted.</summary>
public sealed record Throughput(long Images, double Seconds)
{
    public double ImagesPerSecond => Images / Math.Max(1e-9, Seconds);
}

/// <summary>
/// The data pipeline's speed two ways on the same images: (a) a plain parallel decode + augment loop with
/// no Kafka and no Akka, the ceiling on these cores; (b) the training pipeline itself, from a Kafka topic
/// through decode, augment, shuffle and batching. Both count from the first batch's worth of images on
/// (the pipeline: the images decoded after its first batch left the shuffle buffer).
/// </summary>
public static class PipelineBenchmark
{
    public static Throughput PlainLoop(IReadOnlyList<byte[]> encoded, AugmentSettings augment, int workers, int batchSize)
    {
        long done = 0;
        var clock = new Stopwatch();
        Parallel.For(0, encoded.Count, new ParallelOptions { MaxDegreeOfParallelism = workers }, i =>
        {
            using var image = ImageCodec.Decode(encoded[i]);
            Augment.Train(image, augment, new Random(i));
            if (Interlocked.Increment(ref done) == batchSize) clock.Start();
        });
        clock.Stop();
        return new Throughput(encoded.Count - batchSize, clock.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// The pipeline without Kafka: the same records held in memory, through decode, augment, shuffle and batching. With
    /// <see cref="FromKafka"/> and <see cref="KafkaOnly"/> it splits the pipeline's time between reading and the rest.
    /// </summary>
    public static async Task<Throughput> FromMemory(IReadOnlyList<byte[]> encoded, ClassSubset classes, AugmentSettings augment,
        int workers, int batchSize, int shuffleBuffer, IMaterializer materializer, CancellationToken cancellationToken = default)
    {
        var records = Source.From(encoded.Select((bytes, i) => new ImageRecord("memory", 0, i, i.ToString(), i, [classes.Classes[i % classes.Count]], bytes, 0)));
        return await Count(ImagePipelines.Train(records, classes, augment, batchSize, shuffleBuffer, seed: 0, workers, fromKafka: false),
            shuffleBuffer, batchSize, materializer, cancellationToken);
    }

    /// <summary>Records per second read from the topic and nothing else (no decoding): the reader's ceiling on these cores.</summary>
    public static async Task<Throughput> KafkaOnly(KafkaEndpoint endpoint, SplitManifest split, IMaterializer materializer, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        long records = 0;
        await KafkaRecordSource.Create(endpoint, split, epochs: 1).RunForeach(_ => records++, materializer).WaitAsync(cancellationToken);
        return new Throughput(records, clock.Elapsed.TotalSeconds);
    }

    /// <param name="ordered">Read in ordered mode (partitions take seeded turns, as upstream training reads by default).</param>
    public static async Task<Throughput> FromKafka(KafkaEndpoint endpoint, SplitManifest split, ClassSubset classes, AugmentSettings augment,
        int workers, int batchSize, int shuffleBuffer, IMaterializer materializer, CancellationToken cancellationToken = default, bool ordered = false)
    {
        var records = KafkaRecordSource.Create(endpoint, split, epochs: 1, ordered: ordered);
        return await Count(ImagePipelines.Train(records, classes, augment, batchSize, shuffleBuffer, seed: 0, workers), shuffleBuffer, batchSize,
            materializer, cancellationToken);
    }

    private static async Task<Throughput> Count(Source<ImageBatch, Akka.NotUsed> batches, int shuffleBuffer, int batchSize, IMaterializer materializer,
        CancellationToken cancellationToken)
    {
        Stopwatch? clock = null;
        long images = 0;
        await batches.RunForeach(b =>
        {
            clock ??= Stopwatch.StartNew();
            images += b.Labels.Length;
        }, materializer).WaitAsync(cancellationToken);
        // The first batch leaves once the shuffle buffer is full; at the end the buffer empties at once.
        // So between the first batch and the end, images − buffer − one batch were decoded and augmented.
        return new Throughput(Math.Max(0, images - shuffleBuffer - batchSize), clock?.Elapsed.TotalSeconds ?? 0);
    }
}
