using BitActors.Streams.Kafka;
using Confluent.Kafka;

namespace BitActors.Streams.Datasets;

/// <summary>Reads manifests from the compacted <c>bit.datasets</c> topic (the latest value per key wins).</summary>
public static class DatasetCatalog
{
    public static DatasetManifest? TryRead(string bootstrapServers, string dataset)
    {
        using var consumer = KafkaClients.CreateConsumer(bootstrapServers, $"bitactors-catalog-{Guid.NewGuid():N}");
        using (var admin = new DependentAdminClientBuilder(consumer.Handle).Build())
            if (KafkaClients.PartitionCount(admin, Topics.Datasets, TimeSpan.FromSeconds(10)) == 0) return null;
        var tp = new TopicPartition(Topics.Datasets, 0);
        var w = consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10));
        if (w.High <= w.Low) return null;
        consumer.Assign(new TopicPartitionOffset(tp, w.Low));
        DatasetManifest? latest = null;
        while (true)
        {
            var r = consumer.Consume(TimeSpan.FromSeconds(10)) ?? throw new TimeoutException($"reading {Topics.Datasets} timed out");
            if (r.Message.Key == dataset)
                latest = r.Message.Value is null ? null : DatasetManifest.FromJson(r.Message.Value);
            if (r.Offset.Value >= w.High.Value - 1) break;
        }
        consumer.Close();
        return latest;
    }

    public static DatasetManifest Read(string bootstrapServers, string dataset) =>
        TryRead(bootstrapServers, dataset)
        ?? throw new InvalidOperationException($"dataset '{dataset}' is not published at {bootstrapServers}: run `bitactors publish --dataset {dataset} …` first");

    /// <summary>Records per partition now on the topic (high − low watermark).</summary>
    public static long[] CountRecords(string bootstrapServers, string topic, int partitions) =>
        Watermarks(bootstrapServers, topic, partitions).Select(w => w.High - w.Low).ToArray();

    /// <summary>Low and high watermark of every partition (first offset held, next offset to be written).</summary>
    public static (long Low, long High)[] Watermarks(string bootstrapServers, string topic, int partitions)
    {
        using var consumer = KafkaClients.CreateConsumer(bootstrapServers, $"bitactors-count-{Guid.NewGuid():N}");
        return Enumerable.Range(0, partitions).Select(p =>
        {
            var w = consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(30));
            return (w.Low.Value, w.High.Value);
        }).ToArray();
    }
}
