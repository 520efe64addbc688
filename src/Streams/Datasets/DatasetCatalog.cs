using BitActors.Streams.Kafka;
using Confluent.Kafka;

namespace BitActors.Streams.Datasets;

/// <summary>Reads manifests from the compacted <c>bit.datasets</c> topic (the latest value per key wins).</summary>
public static class DatasetCatalog
{
    /// <summary>
    /// The dataset's latest manifest, or null when it has none. A broker that is down or a fetch that fails is
    /// waited for (<see cref="BrokerRetry"/>, at most <see cref="BrokerRetry.Patience"/>); only a topic that stays
    /// unreadable that long is an error.
    /// </summary>
    public static DatasetManifest? TryRead(KafkaEndpoint endpoint, string dataset)
    {
        using var consumer = KafkaClients.CreateConsumer(endpoint, $"bitactors-catalog-{Guid.NewGuid():N}");
        using (var admin = new DependentAdminClientBuilder(consumer.Handle).Build())
            if (KafkaClients.PartitionCount(admin, Topics.Datasets, TimeSpan.FromSeconds(10)) == 0) return null;
        var tp = new TopicPartition(Topics.Datasets, 0);
        var w = BrokerRetry.Watermarks(consumer, tp, endpoint.Client, CancellationToken.None);
        if (w.High <= w.Low) return null;
        consumer.Assign(new TopicPartitionOffset(tp, w.Low));
        DatasetManifest? latest = null;
        var deadline = DateTime.UtcNow + BrokerRetry.Patience;
        while (true)
        {
            var r = BrokerRetry.Consume(consumer, endpoint.Client, TimeSpan.FromSeconds(10));
            if (r is null)
            {
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException($"reading {Topics.Datasets} at {endpoint} failed for {BrokerRetry.Patience.TotalMinutes:0} minutes: offsets {w.Low}–{w.High} could not be read");
                continue;
            }
            if (r.Message.Key == dataset)
                latest = r.Message.Value is null ? null : DatasetManifest.FromJson(r.Message.Value);
            if (r.Offset.Value >= w.High.Value - 1) break;
        }
        consumer.Close();
        return latest;
    }

    public static DatasetManifest Read(KafkaEndpoint endpoint, string dataset) =>
        TryRead(endpoint, dataset)
        ?? throw new InvalidOperationException($"dataset '{dataset}' is not published at {endpoint}: run `bitactors publish --dataset {dataset} …` first");

    /// <summary>Records per partition now on the topic (high − low watermark).</summary>
    public static long[] CountRecords(KafkaEndpoint endpoint, string topic, int partitions) =>
        Watermarks(endpoint, topic, partitions).Select(w => w.High - w.Low).ToArray();

    /// <summary>Low and high watermark of every partition (first offset held, next offset to be written).</summary>
    public static (long Low, long High)[] Watermarks(KafkaEndpoint endpoint, string topic, int partitions)
    {
        using var consumer = KafkaClients.CreateConsumer(endpoint, $"bitactors-count-{Guid.NewGuid():N}");
        return Enumerable.Range(0, partitions).Select(p =>
        {
            var w = BrokerRetry.Watermarks(consumer, new TopicPartition(topic, p), endpoint.Client, CancellationToken.None);
            return (w.Low.Value, w.High.Value);
        }).ToArray();
    }
}
