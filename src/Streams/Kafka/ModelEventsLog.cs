using BitActors.Streams.Datasets;
using Confluent.Kafka;

namespace BitActors.Streams.Kafka;

/// <summary>One record of <c>bit.models</c>: its CloudEvent attributes (<c>ce_*</c> headers, unprefixed), its data (JSON) and offset.</summary>
public sealed record ModelEventRecord(IReadOnlyDictionary<string, string> Attributes, byte[] Data, long Offset)
{
    public string? Type => Attributes.GetValueOrDefault("type");

    public string? Subject => Attributes.GetValueOrDefault("subject");

    /// <summary>The task part of a subject <c>{runId}/{task}</c> when the event belongs to <paramref name="runId"/>, else null.</summary>
    public string? TaskOf(string runId) =>
        Subject is { } s && s.StartsWith(runId + "/", StringComparison.Ordinal) ? s[(runId.Length + 1)..] : null;
}

/// <summary>
/// The one reader of <c>bit.models</c>: every partition from its start, either to the end it has now (what a
/// run has announced so far) or following new events as they come. Partitions are assigned, not subscribed,
/// and no offset is committed: every read sees the whole log.
/// </summary>
public static class ModelEventsLog
{
    /// <summary>Every event on the topic now, partition by partition in offset order; none when the topic does not exist.</summary>
    /// <param name="timeout">For each broker answer, and for each record still to come.</param>
    public static IReadOnlyList<ModelEventRecord> ReadToEnd(KafkaEndpoint endpoint, TimeSpan timeout)
    {
        var events = new List<ModelEventRecord>();
        int partitions;
        using (var admin = KafkaClients.CreateAdmin(endpoint))
            partitions = KafkaClients.PartitionCount(admin, Topics.Models, timeout);
        if (partitions == 0) return events;
        using var consumer = Consumer(endpoint);
        var ends = new Dictionary<int, long>();   // partition → its high watermark when the read began
        for (int p = 0; p < partitions; p++)
        {
            var w = consumer.QueryWatermarkOffsets(new TopicPartition(Topics.Models, p), timeout);
            if (w.High > w.Low) ends[p] = w.High.Value;
        }
        if (ends.Count == 0) return events;
        consumer.Assign(ends.Keys.Select(p => new TopicPartitionOffset(Topics.Models, p, Offset.Beginning)));
        while (ends.Count > 0)
        {
            var r = consumer.Consume(timeout) ?? throw new TimeoutException($"reading {Topics.Models} at {endpoint} timed out");
            if (r.Offset.Value >= ends.GetValueOrDefault(r.Partition.Value, long.MaxValue) - 1) ends.Remove(r.Partition.Value);
            if (Of(r) is { } e) events.Add(e);
        }
        consumer.Close();
        return events;
    }

    /// <summary>
    /// Every event from the start, then new ones as they come, until <paramref name="stop"/>. Waits for the topic
    /// to exist first, calling <paramref name="waiting"/> before each pause.
    /// </summary>
    public static IEnumerable<ModelEventRecord> Follow(KafkaEndpoint endpoint, CancellationToken stop, Action? waiting = null)
    {
        var timeout = TimeSpan.FromSeconds(10);
        int partitions;
        using (var admin = KafkaClients.CreateAdmin(endpoint))
            while ((partitions = KafkaClients.PartitionCount(admin, Topics.Models, timeout)) == 0)
            {
                waiting?.Invoke();
                stop.WaitHandle.WaitOne(TimeSpan.FromSeconds(2));
                stop.ThrowIfCancellationRequested();
            }
        using var consumer = Consumer(endpoint);
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(Topics.Models, p, Offset.Beginning)));
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var r = consumer.Consume(TimeSpan.FromMilliseconds(500));
                if (r?.Message is not null && Of(r) is { } e) yield return e;
            }
        }
        finally { consumer.Close(); }   // also when the caller stops early
    }

    private static IConsumer<string, byte[]> Consumer(KafkaEndpoint endpoint) =>
        KafkaClients.CreateConsumer(endpoint, $"bitactors-models-{Guid.NewGuid():N}");

    /// <summary>
    /// The event, or null (said once as a warning) when it is malformed: a required attribute missing or without a
    /// value. One bad record must not stop a reader of the log (a coordinator taking over, <c>models watch</c>).
    /// An event without data is an event: its data is empty.
    /// </summary>
    private static ModelEventRecord? Of(ConsumeResult<string, byte[]> r)
    {
        var attributes = CloudEvents.Attributes(r.Message.Headers);
        if (CloudEvents.Required.FirstOrDefault(a => !attributes.ContainsKey(a)) is { } missing)
        {
            KafkaDiagnostics.Warn($"models/{r.Partition.Value}/{r.Offset.Value}",
                $"{Topics.Models} partition {r.Partition.Value} offset {r.Offset.Value}: not a CloudEvent (no ce_{missing}); skipped");
            return null;
        }
        return new(attributes, r.Message.Value ?? [], r.Offset.Value);
    }
}
