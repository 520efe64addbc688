using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;
using Confluent.Kafka;

namespace BitActors.Cli.Demo;

/// <summary>Reads back what is on <c>bit.models</c>: proof that the events reached the broker.</summary>
public static class ModelEventsReader
{
    public static Dictionary<string, int> CountByType(string bootstrapServers, string? runId)
    {
        using var consumer = KafkaClients.CreateConsumer(bootstrapServers, $"bitactors-events-{Guid.NewGuid():N}");
        var tp = new TopicPartition(Topics.Models, 0);
        var w = consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10));
        var counts = new Dictionary<string, int>();
        if (w.High <= w.Low) return counts;
        consumer.Assign(new TopicPartitionOffset(tp, w.Low));
        while (true)
        {
            var r = consumer.Consume(TimeSpan.FromSeconds(10)) ?? throw new TimeoutException($"reading {Topics.Models} timed out");
            var attributes = CloudEvents.Attributes(r.Message.Headers);
            if (runId is null || (attributes.TryGetValue("subject", out var s) && s.StartsWith(runId + "/", StringComparison.Ordinal)))
                counts[attributes.GetValueOrDefault("type", "?")] = counts.GetValueOrDefault(attributes.GetValueOrDefault("type", "?")) + 1;
            if (r.Offset.Value >= w.High.Value - 1) break;
        }
        consumer.Close();
        return counts;
    }
}
