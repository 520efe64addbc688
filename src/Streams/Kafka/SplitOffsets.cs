using System.Globalization;
using BitActors.Streams.Datasets;
using Confluent.Kafka;

namespace BitActors.Streams.Kafka;

/// <summary>
/// The manifest against the topic, before a reader emits anything: every partition must still hold the records the
/// manifest promises, offsets [start, end). A broker deletes records when their retention runs out (7 days by default
/// on a stock Kafka), so a topic can hold fewer than its manifest says; training on what is left would quietly
/// train on another dataset, so the reader refuses instead.
/// </summary>
public static class SplitOffsets
{
    /// <param name="marks">Low and high watermark of each of the topic's partitions (as many as it has).</param>
    public static void Verify(SplitManifest split, IReadOnlyList<(long Low, long High)> marks)
    {
        if (marks.Count < split.Partitions)
            throw new DataLossException($"topic '{split.Topic}' has {marks.Count} partitions but its manifest promises {split.Partitions}: " +
                "the topic was deleted or recreated; publish the dataset again");
        for (int p = 0; p < split.Partitions; p++)
        {
            long start = split.StartOffset(p), end = split.EndOffset(p);
            var (low, high) = marks[p];
            if (end == start || (low <= start && high >= end)) continue;
            long held = Math.Max(0, Math.Min(high, end) - Math.Max(low, start));
            throw new DataLossException(string.Format(CultureInfo.InvariantCulture,
                "topic '{0}' partition {1} holds {2:N0} of its {3:N0} records: records were deleted or expired (retention?); " +
                "it has offsets [{4}, {5}), the manifest promises [{6}, {7}). Publish the dataset again (data topics need retention.ms=-1)",
                split.Topic, p, held, end - start, low, high, start, end));
        }
    }

    /// <summary>Whether the split's topic exists with all its partitions (a metadata request).</summary>
    public static void CheckPartitions(SplitManifest split, IConsumer<string, byte[]> consumer, KafkaEndpoint endpoint)
    {
        using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
        var count = KafkaClients.PartitionCount(admin, split.Topic, TimeSpan.FromSeconds(30));
        if (count == 0) throw new InvalidOperationException($"topic '{split.Topic}' does not exist at {endpoint}; publish the dataset first");
        if (count < split.Partitions) Verify(split, new (long, long)[count]);
    }

    /// <summary>Reads the topic's watermarks with <paramref name="consumer"/> (waiting out a broker fault) and verifies them.</summary>
    public static void Verify(SplitManifest split, IConsumer<string, byte[]> consumer, KafkaEndpoint endpoint, CancellationToken stop)
    {
        var marks = Enumerable.Range(0, split.Partitions).Select(p =>
        {
            var w = BrokerRetry.Watermarks(consumer, new TopicPartition(split.Topic, p), endpoint.Client, stop);
            return (w.Low.Value, w.High.Value);
        }).ToList();
        Verify(split, marks);
    }
}
