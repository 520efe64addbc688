using Confluent.Kafka;

namespace BitActors.Streams.Kafka;

/// <summary>
/// The consumers' calls that a broker fault makes fail for a while (a broker down, a leader moved,
/// an injected retriable error): they are said once as a warning and tried again until the broker
/// answers, for at most <see cref="Patience"/>. What the client retries by itself is left to it; an
/// epoch's bounds and records are unchanged by a retry (offsets, not time, define them).
/// </summary>
public static class BrokerRetry
{
    public static readonly TimeSpan Patience = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(250);

    /// <summary>The partition's low and high watermarks, waiting for its leader when it is unreachable.</summary>
    /// <param name="settings">The consumer's settings: their secrets are redacted from the warning.</param>
    public static WatermarkOffsets Watermarks(IConsumer<string, byte[]> consumer, TopicPartition partition, KafkaClientSettings settings, CancellationToken stop)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            try { return consumer.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(10)); }
            catch (KafkaException e) when (!e.Error.IsFatal && DateTime.UtcNow < deadline)
            {
                KafkaDiagnostics.Warn($"watermarks/{partition.Topic}",
                    $"Kafka: the leader of {partition} is not answering ({e.Error.Reason}); retrying", settings);
                stop.WaitHandle.WaitOne(Pause);
                stop.ThrowIfCancellationRequested();
            }
        }
    }

    /// <summary>The next record within <paramref name="timeout"/>, or null when none came or a fetch failed (see below).</summary>
    public static ConsumeResult<string, byte[]>? Consume(IConsumer<string, byte[]> consumer, KafkaClientSettings settings, TimeSpan timeout) =>
        Retriable(() => consumer.Consume(timeout), settings);

    /// <summary>
    /// The next record, or null after a non-fatal consume error (a failed fetch: the client fetches the
    /// same offsets again, so nothing is skipped or repeated).
    /// </summary>
    public static ConsumeResult<string, byte[]>? Consume(IConsumer<string, byte[]> consumer, KafkaClientSettings settings, CancellationToken stop) =>
        Retriable(() => consumer.Consume(stop), settings);

    // A failed fetch is said once as a warning and reads as "no record yet"; a fatal error or a record that cannot be
    // deserialised is not a broker fault and goes to the caller.
    private static ConsumeResult<string, byte[]>? Retriable(Func<ConsumeResult<string, byte[]>?> consume, KafkaClientSettings settings)
    {
        try { return consume(); }
        catch (ConsumeException e) when (!e.Error.IsFatal && e.Error.Code is not (ErrorCode.Local_KeyDeserialization or ErrorCode.Local_ValueDeserialization))
        {
            KafkaDiagnostics.Warn($"consume/{e.Error.Code}", $"Kafka: fetch failed ({e.Error.Reason}); retrying", settings);
            return null;
        }
    }
}
