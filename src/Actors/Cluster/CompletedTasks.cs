using BitActors.Actors.Events;
using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;
using Confluent.Kafka;

namespace BitActors.Actors.Cluster;

/// <summary>
/// The tasks of a run that <c>bit.models</c> already holds an outcome for: a coordinator that takes over (a
/// singleton moved to another node, or a restarted cluster) starts from these, so no task is announced twice.
/// </summary>
public static class CompletedTasks
{
    public static IReadOnlySet<string> Read(string bootstrapServers, string runId, TimeSpan timeout)
    {
        var done = new HashSet<string>();
        using var admin = KafkaClients.CreateAdmin(bootstrapServers);
        var partitions = KafkaClients.PartitionCount(admin, Topics.Models, timeout);
        if (partitions == 0) return done;
        using var consumer = KafkaClients.CreateConsumer(bootstrapServers, $"bitactors-coordinator-{Guid.NewGuid():N}");
        var ends = new Dictionary<int, long>();
        for (int p = 0; p < partitions; p++)
        {
            var w = consumer.QueryWatermarkOffsets(new TopicPartition(Topics.Models, p), timeout);
            if (w.High > w.Low) ends[p] = w.High.Value;
        }
        if (ends.Count == 0) return done;
        consumer.Assign(ends.Keys.Select(p => new TopicPartitionOffset(Topics.Models, p, Offset.Beginning)));
        var prefix = runId + "/";
        while (ends.Count > 0)
        {
            var r = consumer.Consume(timeout) ?? throw new TimeoutException($"reading {Topics.Models} at {bootstrapServers} timed out");
            if (r.Offset.Value >= ends.GetValueOrDefault(r.Partition.Value, long.MaxValue) - 1) ends.Remove(r.Partition.Value);
            var attributes = CloudEvents.Attributes(r.Message.Headers);
            if (attributes.GetValueOrDefault("type") is ModelEvent.FineTuneCompletedType or ModelEvent.FineTuneFailedType
                && attributes.GetValueOrDefault("subject") is { } subject && subject.StartsWith(prefix, StringComparison.Ordinal))
                done.Add(subject[prefix.Length..]);
        }
        consumer.Close();
        return done;
    }
}
