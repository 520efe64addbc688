using System.Security.Cryptography;
using System.Text;
using Akka.Streams;
using Akka.Streams.Dsl;
using BitActors.Streams.Kafka;
using Confluent.Kafka;

namespace BitActors.Streams.Datasets;

/// <summary>Progress of a publish: records acknowledged by the broker so far, per split.</summary>
public sealed record PublishProgress(string Split, long Acknowledged, long Total);

/// <summary>
/// What a publish did: the manifest now on <c>bit.datasets</c>, whether it was already there, and what was
/// sent (records, key + value bytes, time from the first record sent to the last verified; zero when already
/// there); the images left out with <c>--skip-invalid</c> and the warnings said (partitions raised, finite retention).
/// </summary>
public sealed record PublishResult(DatasetManifest Manifest, bool AlreadyPublished, long RecordsSent = 0, long BytesSent = 0, TimeSpan Elapsed = default,
    IReadOnlyList<SkippedImage>? Skipped = null, IReadOnlyList<string>? Warnings = null)
{
    public double ImagesPerSecond => Elapsed > TimeSpan.Zero ? RecordsSent / Elapsed.TotalSeconds : 0;

    public double MegabytesPerSecond => Elapsed > TimeSpan.Zero ? BytesSent / 1e6 / Elapsed.TotalSeconds : 0;
}

/// <summary>
/// How to publish. <c>ResizeOversized</c>: re-encode images whose record would exceed the largest record Kafka
/// takes, longer side to this many pixels (null: refuse them). <c>MaxRecordBytes</c>: that largest record (null:
/// <see cref="MessageLimits.MaxRecordBytesAsync"/>). <c>Partitions</c>: partitions per data topic (null:
/// <c>DefaultPartitions</c> on an external broker, capacity-based on the embedded one). <c>Seed</c>: of the random
/// order records are written in. <c>SkipInvalid</c>: leave bad images out instead of refusing the dataset.
/// <c>Parallelism</c>: images read and checked at once (0: one per core). <c>InFlightMegabytes</c>: record bytes
/// queued in the producer at most.
/// </summary>
public sealed record PublishOptions(int? ResizeOversized = null, long? MaxRecordBytes = null, int? Partitions = null, int Seed = 0,
    bool SkipInvalid = false, int DefaultPartitions = 12, int Parallelism = 0, int InFlightMegabytes = 64);

/// <summary>
/// Publishes a dataset in two passes over its images, holding a bounded window of them at a time: the first
/// reads and checks every image (<see cref="SplitCheck"/>: all or nothing unless <c>SkipInvalid</c>), the second
/// produces them in a seeded random order (<see cref="SeededOrder"/>) — record k of the order goes to partition
/// k mod P, so partitions are even and each is shuffled; key and <c>bit.index</c> keep the dataset index. Then it
/// verifies that every partition holds exactly what was sent before writing the manifest: a shortfall (a broker
/// that dropped data) is an error, never silent.
/// </summary>
public sealed class DatasetPublisher(ITopicAdmin admin, IMaterializer materializer, IProgress<PublishProgress>? progress = null, PublishOptions? options = null)
{
    private const int MaxInFlightRecords = 1000, MinInFlightRecords = 16;
    private readonly PublishOptions settings = options ?? new PublishOptions();
    private readonly List<string> warnings = [];

    public async Task<PublishResult> PublishAsync(DatasetSource dataset, CancellationToken cancellationToken = default)
    {
        var bootstrap = admin.Endpoint;
        KafkaClients.CheckReachable(bootstrap, TimeSpan.FromSeconds(15));
        await admin.EnsureTopicAsync(new TopicSpec(Topics.Datasets, 1, Compacted: true), cancellationToken);

        // The hash describes the images, not their order: the same images are already published whatever the seed.
        var existing = DatasetCatalog.TryRead(bootstrap, dataset.Name);
        if (existing is not null)
        {
            var resized = settings.ResizeOversized is { } side ? OversizedImages.ResizedHash(dataset.ContentHash, side) : null;
            if (existing.ContentHash == dataset.ContentHash || existing.ContentHash == resized) return AlreadyPublished(existing);
            // A publish that left images out hashed what it published: only the check below can tell whether this is it.
            if (existing.Splits.All(s => s.Skipped == 0)) throw OtherContent(existing);
        }

        var checks = new List<(SplitCheck Check, long Limit)>();
        foreach (var split in dataset.Splits)
        {
            long limit = settings.MaxRecordBytes ?? await MessageLimits.MaxRecordBytesAsync(admin, Topics.Data(dataset.Name, split.Name), cancellationToken);
            checks.Add((SplitCheck.Run(dataset, split, limit, settings.ResizeOversized, settings.Parallelism, cancellationToken), limit));
        }
        if (!settings.SkipInvalid) Refuse(dataset, checks);
        if (checks.All(c => c.Check.Good == 0))
            throw new InvalidDataException($"dataset '{dataset.Name}' has no image that can be published ({checks.Sum(c => c.Check.Skipped.Count)} skipped)");
        var contentHash = ContentHash(dataset, checks.Select(c => c.Check).ToList());
        if (existing is not null) return existing.ContentHash == contentHash ? AlreadyPublished(existing) : throw OtherContent(existing);

        using var producer = KafkaClients.CreateProducer(bootstrap, config =>
        {
            config.QueueBufferingMaxKbytes = Math.Max(1, settings.InFlightMegabytes) * 1024;
            config.QueueBufferingMaxMessages = MaxInFlightRecords * 2;
        });
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var splits = new List<SplitManifest>();
        long records = 0, bytes = 0;
        foreach (var (check, limit) in checks)
        {
            splits.Add(await PublishSplitAsync(producer, dataset, check, limit, cancellationToken));
            records += check.Good;
            bytes += check.PayloadBytes;
        }
        var elapsed = clock.Elapsed;

        var manifest = new DatasetManifest(dataset.Name, dataset.Classes, dataset.MultiLabel,
            new ImageSize(dataset.ImageHeight, dataset.ImageWidth, dataset.Channels), contentHash, splits, DateTimeOffset.UtcNow);
        await producer.ProduceAsync(Topics.Datasets, new Message<string, byte[]> { Key = dataset.Name, Value = manifest.ToJson() }, cancellationToken);
        return new PublishResult(manifest, AlreadyPublished: false, records, bytes, elapsed, checks.SelectMany(c => c.Check.Skipped).ToList(), warnings);
    }

    private PublishResult AlreadyPublished(DatasetManifest existing)
    {
        foreach (var split in existing.Splits) Verify(admin.Endpoint, split);
        return new PublishResult(existing, AlreadyPublished: true);
    }

    private static InvalidOperationException OtherContent(DatasetManifest existing) =>
        new($"dataset '{existing.Name}' is already published with other content (hash {existing.ContentHash[..12]}…); publish under another name");

    /// <summary>Without <c>SkipInvalid</c>, any bad image refuses the dataset before anything of it is produced.</summary>
    private void Refuse(DatasetSource dataset, List<(SplitCheck Check, long Limit)> checks)
    {
        if (checks.Sum(c => c.Check.ProblemCount) is var problems and > 0)
            throw DatasetChecks.Refusal(dataset.Name, checks.SelectMany(c => c.Check.Problems).ToList(), problems);
        if (checks.Sum(c => c.Check.OversizedCount) is var oversized and > 0)
            throw OversizedImages.Refusal(dataset.Name, checks.Min(c => c.Limit), checks.SelectMany(c => c.Check.Oversized).ToList(), oversized, settings.ResizeOversized);
    }

    /// <summary>The source's hash, and what changed the images published: resizing, images left out here.</summary>
    private string ContentHash(DatasetSource dataset, IReadOnlyList<SplitCheck> checks)
    {
        var hash = checks.Any(c => c.Resized) ? OversizedImages.ResizedHash(dataset.ContentHash, settings.ResizeOversized!.Value) : dataset.ContentHash;
        if (checks.All(c => c.LeftOut.Count == 0)) return hash;
        var leftOut = string.Join(";", checks.Select(c => $"{c.Split.Name}:{string.Join(',', c.LeftOut.Order())}"));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{hash}\nleft-out={leftOut}")));
    }

    private void Warn(string kind, string text)
    {
        warnings.Add(text);
        KafkaDiagnostics.Warn(kind, text);
    }

    private async Task<SplitManifest> PublishSplitAsync(IProducer<string, byte[]> producer, DatasetSource dataset, SplitCheck check, long limit, CancellationToken cancellationToken)
    {
        var split = check.Split;
        var topic = Topics.Data(dataset.Name, split.Name);
        var (partitions, raised) = TopicSizing.Plan(topic, settings.Partitions, settings.DefaultPartitions, admin.IsEmbedded, check.Good, check.PayloadBytes);
        if (raised is not null) Warn($"partitions/{topic}", raised);
        await admin.EnsureTopicAsync(new TopicSpec(topic, partitions, KeepForever: true), cancellationToken);
        if (await admin.DescribeTopicAsync(topic, cancellationToken) is { Expires: true } config)
            Warn($"retention/{topic}", $"topic '{topic}' deletes its records ({config.DescribeRetention()}): the dataset will expire while its manifest stays; " +
                $"set retention.ms=-1 and retention.bytes=-1 on it (kafka-configs --alter --entity-type topics --entity-name {topic} --add-config retention.ms=-1,retention.bytes=-1)");

        var before = DatasetCatalog.Watermarks(admin.Endpoint, topic, partitions);
        var held = before.Sum(w => w.High - w.Low);
        if (held > 0)
            throw new InvalidOperationException($"topic '{topic}' already holds {held} records but no manifest names them (an interrupted publish?); delete the topic or publish under another name");

        int workers = settings.Parallelism > 0 ? settings.Parallelism : Environment.ProcessorCount;
        long average = Math.Max(1, check.PayloadBytes / Math.Max(1, check.Good));
        int inFlight = (int)Math.Clamp(settings.InFlightMegabytes * 1_048_576L / average, MinInFlightRecords, MaxInFlightRecords);
        long ordinal = 0, acknowledged = 0;
        await Source.From(Order(split.Count, check.LeftOut))
            .SelectAsync(workers, position => Task.Run(() => Prepare(dataset, split, position, limit), cancellationToken))
            .Select(image => (Partition: new TopicPartition(topic, (int)(ordinal++ % partitions)), Message: ToMessage(dataset.Name, split.Name, image)))
            .SelectAsync(inFlight, record => Producing.ProduceAsync(producer, record.Partition, record.Message))
            .RunForeach(_ =>
            {
                if (++acknowledged % 5000 == 0 || acknowledged == check.Good)
                    progress?.Report(new PublishProgress(split.Name, acknowledged, check.Good));
            }, materializer)
            .WaitAsync(cancellationToken);
        if (acknowledged != check.Good)
            throw new DataLossException($"{topic}: {acknowledged} records acknowledged, {check.Good} expected");

        // Record k of the order went to partition k mod P.
        var expected = Enumerable.Range(0, partitions).Select(p => check.Good / partitions + (p < check.Good % partitions ? 1 : 0)).ToArray();
        // The records of partition p are offsets [start, start + count): the epochs a consumer reads end there.
        var manifest = new SplitManifest(split.Name, topic, partitions, check.Good, expected, before.Select(w => w.High).ToArray(),
            check.ClassCounts, check.Skipped.Count, settings.Seed);
        Verify(admin.Endpoint, manifest);
        return manifest;

        IEnumerable<int> Order(int count, HashSet<int> leftOut)
        {
            var order = new SeededOrder(count, settings.Seed);
            for (long k = 0; k < count; k++)
                if (order.At(k) is var position && !leftOut.Contains((int)position)) yield return (int)position;
        }
    }

    /// <summary>The second read of an image, as the first pass checked it (resized if it was).</summary>
    private LabelledImage Prepare(DatasetSource dataset, DatasetSplit split, int position, long limit)
    {
        try
        {
            var fit = OversizedImages.Fit(dataset.Name, split.Name, split.Read(position), limit, settings.ResizeOversized);
            return fit.Image ?? throw new InvalidImageException(split.Name, fit.Reason!);
        }
        catch (InvalidImageException e)
        {
            throw new InvalidDataException($"{e.Message}: it changed since it was checked; nothing more is published (the topic holds a partial split without a manifest)", e);
        }
    }

    /// <summary>Every partition must hold exactly the records the manifest counts.</summary>
    public static void Verify(KafkaEndpoint endpoint, SplitManifest split)
    {
        var actual = DatasetCatalog.CountRecords(endpoint, split.Topic, split.Partitions);
        for (int p = 0; p < split.Partitions; p++)
            if (actual[p] != split.RecordsPerPartition[p])
                throw new DataLossException($"topic '{split.Topic}' partition {p} holds {actual[p]} records, expected {split.RecordsPerPartition[p]}: the broker lost or duplicated data");
    }

    public static string KeyOf(string dataset, string split, long index) => $"{dataset}/{split}/{index:D8}";

    public static Message<string, byte[]> ToMessage(string dataset, string split, LabelledImage image) => new()
    {
        Key = KeyOf(dataset, split, image.Index),
        Value = image.Encoded,
        Headers =
        [
            new Header(Topics.Headers.Labels, Encoding.UTF8.GetBytes(string.Join(',', image.Labels))),
            new Header(Topics.Headers.Index, Encoding.UTF8.GetBytes(image.Index.ToString())),
            new Header(Topics.Headers.ContentType, Encoding.UTF8.GetBytes(image.ContentType)),
        ],
    };
}

public sealed class DataLossException(string message) : Exception(message);
