using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;

namespace BitActors.Streams.Tests;

/// <summary>For tests that produce records by hand: a split manifest for what a topic holds now (every record of each partition).</summary>
internal static class TopicSplits
{
    public static SplitManifest WholeTopic(KafkaEndpoint endpoint, string topic)
    {
        using var admin = KafkaClients.CreateAdmin(endpoint);
        int partitions = KafkaClients.PartitionCount(admin, topic, TimeSpan.FromSeconds(30));
        var marks = DatasetCatalog.Watermarks(endpoint, topic, partitions);
        var counts = marks.Select(m => m.High - m.Low).ToList();
        return new SplitManifest("train", topic, partitions, counts.Sum(), counts, marks.Select(m => m.Low).ToList());
    }
}
