using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;
using Confluent.Kafka;

namespace BitActors.Cli.Demo;

/// <summary>Reads back what is on <c>bit.models</c> (every partition): proof that the events reached the broker.</summary>
public static class ModelEventsReader
{
    public static Dictionary<string, int> CountByType(string bootstrapServers, string? runId)
    {
        var timeout = TimeSpan.FromSeconds(10);
        int partitions;
        using (var admin = KafkaClients.CreateAdmin(bootstrapServers))
            partitions = KafkaClients.PartitionCount(admin, Topics.Models, timeout);
        using var consumer = KafkaClients.CreateConsumer(bootstrapServers, $"bitactors-events-{Guid.NewGuid():N}");
        var counts = new Dictionary<string, int>();
        var remaining = new Dictionary<int, long>();   // partition → its last offset still to read
        var start = new List<TopicPartitionOffset>();
        for (int p = 0; p < partitions; p++)
        {
            var w = consumer.QueryWatermarkOffsets(new TopicPartition(Topics.Models, p), timeout);
            if (w.High <= w.Low) continue;
            remaining[p] = w.High.Value - 1;
            start.Add(new TopicPartitionOffset(Topics.Models, p, w.Low));
        }
        if (start.Count == 0) return counts;
        consumer.Assign(start);
        while (remaining.Count > 0)
        {
            var r = consumer.Consume(timeout) ?? throw new TimeoutException($"reading {Topics.Models} timed out");
            var attributes = CloudEvents.Attributes(r.Message.Headers);
            if (runId is null || (attributes.TryGetValue("subject", out var s) && s.StartsWith(runId + "/", StringComparison.Ordinal)))
                counts[attributes.GetValueOrDefault("type", "?")] = counts.GetValueOrDefault(attributes.GetValueOrDefault("type", "?")) + 1;
            if (remaining.TryGetValue(r.Partition.Value, out var last) && r.Offset.Value >= last) remaining.Remove(r.Partition.Value);
        }
        consumer.Close();
        return counts;
    }
}
