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
/// sent (records, key + value bytes, time from the first record sent to the last verified; zero when already there).
/// </summary>
public sealed record PublishResult(DatasetManifest Manifest, bool AlreadyPublished, long RecordsSent = 0, long BytesSent = 0, TimeSpan Elapsed = default)
{
    public double ImagesPerSecond => Elapsed > TimeSpan.Zero ? RecordsSent / Elapsed.TotalSeconds : 0;

    public double MegabytesPerSecond => Elapsed > TimeSpan.Zero ? BytesSent / 1e6 / Elapsed.TotalSeconds : 0;
}

/// <summary>
/// How to publish: <c>ResizeOversized</c> = re-encode images whose record would exceed the largest record
/// Kafka takes, longer side to this many pixels (null: refuse them); <c>MaxRecordBytes</c> = that largest
/// record (null: asked of the producer and the broker, <see cref="MessageLimits.MaxRecordBytes"/>).
/// </summary>
public sealed record PublishOptions(int? ResizeOversized = null, long? MaxRecordBytes = null);

/// <summary>
/// Publishes a dataset: one record per image (key = stable sample id, value = encoded image, headers
/// <c>bit.labels</c>, <c>bit.index</c>, <c>content-type</c>), partitions sized for the broker, then
/// verifies that every partition holds exactly what was sent before writing the manifest. A shortfall
/// (a broker that dropped data) is an error, never silent.
/// </summary>
public sealed class DatasetPublisher(ITopicAdmin admin, IMaterializer materializer, IProgress<PublishProgress>? progress = null, PublishOptions? options = null)
{
    private const int InFlight = 1000;

    public async Task<PublishResult> PublishAsync(DatasetSource dataset, CancellationToken cancellationToken = default)
    {
        DatasetChecks.Validate(dataset);
        var bootstrap = admin.Endpoint;
        KafkaClients.CheckReachable(bootstrap, TimeSpan.FromSeconds(15));
        await admin.EnsureTopicAsync(new TopicSpec(Topics.Datasets, 1, Compacted: true), cancellationToken);
        // Every image is checked against the record limit before anything is sent: all or nothing.
        dataset = OversizedImages.Fit(dataset, options?.MaxRecordBytes ?? MessageLimits.MaxRecordBytes(bootstrap), options?.ResizeOversized);

        var existing = DatasetCatalog.TryRead(bootstrap, dataset.Name);
        if (existing is not null)
        {
            if (existing.ContentHash != dataset.ContentHash)
                throw new InvalidOperationException($"dataset '{dataset.Name}' is already published with other content (hash {existing.ContentHash[..12]}…); publish under another name");
            foreach (var split in existing.Splits) Verify(bootstrap, split);
            return new PublishResult(existing, AlreadyPublished: true);
        }

        using var producer = KafkaClients.CreateProducer(bootstrap);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var splits = new List<SplitManifest>();
        foreach (var split in dataset.Splits)
            splits.Add(await PublishSplitAsync(producer, dataset, split, cancellationToken));
        var elapsed = clock.Elapsed;
        long records = dataset.Splits.Sum(s => (long)s.Images.Count);
        long bytes = dataset.Splits.Sum(s => s.Images.Sum(i => (long)i.Encoded.Length + ToMessage(dataset.Name, s.Name, i).Key.Length));

        var manifest = new DatasetManifest(dataset.Name, dataset.Classes, dataset.MultiLabel,
            new ImageSize(dataset.ImageHeight, dataset.ImageWidth, dataset.Channels), dataset.ContentHash, splits, DateTimeOffset.UtcNow);
        await producer.ProduceAsync(Topics.Datasets, new Message<string, byte[]> { Key = dataset.Name, Value = manifest.ToJson() }, cancellationToken);
        return new PublishResult(manifest, AlreadyPublished: false, records, bytes, elapsed);
    }

    private async Task<SplitManifest> PublishSplitAsync(IProducer<string, byte[]> producer, DatasetSource dataset, DatasetSplit split, CancellationToken cancellationToken)
    {
        var topic = Topics.Data(dataset.Name, split.Name);
        long payload = split.Images.Sum(i => (long)i.Encoded.Length + 32);
        int partitions = TopicSizing.PartitionsFor(split.Images.Count, payload);
        await admin.EnsureTopicAsync(new TopicSpec(topic, partitions), cancellationToken);

        var before = DatasetCatalog.Watermarks(admin.Endpoint, topic, partitions);
        var held = before.Sum(w => w.High - w.Low);
        if (held > 0)
            throw new InvalidOperationException($"topic '{topic}' already holds {held} records but no manifest names them (an interrupted publish?); delete the topic or publish under another name");

        long acknowledged = 0;
        await Source.From(split.Images)
            .SelectAsync(InFlight, image => Producing.ProduceAsync(producer,
                new TopicPartition(topic, (int)(image.Index % partitions)),
                ToMessage(dataset.Name, split.Name, image)))
            .RunForeach(_ =>
            {
                if (++acknowledged % 5000 == 0 || acknowledged == split.Images.Count)
                    progress?.Report(new PublishProgress(split.Name, acknowledged, split.Images.Count));
            }, materializer)
            .WaitAsync(cancellationToken);

        var expected = new long[partitions];
        foreach (var image in split.Images) expected[image.Index % partitions]++;
        // The records of partition p are offsets [start, start + count): the epochs a consumer reads end there.
        var manifest = new SplitManifest(split.Name, topic, partitions, split.Images.Count, expected, before.Select(w => w.High).ToArray());
        Verify(admin.Endpoint, manifest);
        return manifest;
    }

    /// <summary>Every partition must hold exactly the records the manifest counts.</summary>
    public static void Verify(KafkaEndpoint endpoint, SplitManifest split)
    {
        var actual = DatasetCatalog.CountRecords(endpoint, split.Topic, split.Partitions);
        for (int p = 0; p < split.Partitions; p++)
            if (actual[p] != split.RecordsPerPartition[p])
                throw new DataLossException($"topic '{split.Topic}' partition {p} holds {actual[p]} records, expected {split.RecordsPerPartition[p]}: the broker lost or duplicated data");
    }

    public static Message<string, byte[]> ToMessage(string dataset, string split, LabelledImage image) => new()
    {
        Key = $"{dataset}/{split}/{image.Index:D8}",
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
