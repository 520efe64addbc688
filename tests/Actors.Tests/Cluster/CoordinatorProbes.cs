using System.Text.Json;
using BitActors.Actors.Cluster;
using BitActors.Model.Training;
using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;
using Confluent.Kafka;

namespace BitActors.Actors.Tests.Cluster;

/// <summary>What coordinator tests with probes as trainer devices need: real checkpoint files in the store, and bit.models read back.</summary>
internal static class CoordinatorProbes
{
    /// <summary>A resumable checkpoint as a trainer would leave it: weights and state files in the store, described by their sha256.</summary>
    public static TaskCheckpoint Checkpoint(ArtifactStore store, string runId, string taskId, int attempt, int step)
    {
        var weights = store.PathOf($"{runId}/tasks/{taskId}/attempt{attempt}-step{step}.bin");
        File.WriteAllBytes(weights, [1, 2, (byte)step]);
        File.WriteAllBytes(TrainingCheckpoint.StatePath(weights), [3, 4, (byte)step]);
        return new TaskCheckpoint(store.Describe(weights), store.Describe(TrainingCheckpoint.StatePath(weights)), step);
    }

    /// <summary>Every event on bit.models (one partition), as (type, subject, data).</summary>
    public static List<(string Type, string Subject, JsonElement Data)> Announced(string bootstrapServers)
    {
        using var consumer = KafkaClients.CreateConsumer(bootstrapServers, $"test-{Guid.NewGuid():N}");
        var tp = new TopicPartition(Topics.Models, 0);
        var end = consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10)).High.Value;
        var events = new List<(string, string, JsonElement)>();
        if (end == 0) return events;
        consumer.Assign(new TopicPartitionOffset(tp, Offset.Beginning));
        while (events.Count < end)
        {
            var r = consumer.Consume(TimeSpan.FromSeconds(10)) ?? throw new TimeoutException("reading bit.models");
            var attributes = CloudEvents.Attributes(r.Message.Headers);
            events.Add((attributes["type"], attributes["subject"], JsonDocument.Parse(r.Message.Value).RootElement.Clone()));
        }
        return events;
    }
}
