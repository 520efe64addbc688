using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace BitActors.Streams.Kafka;

/// <summary>
/// How large one record may be. The producer refuses records over its <c>message.max.bytes</c>
/// (<see cref="KafkaClients.MaxMessageBytes"/>, librdkafka's default of 1,000,000 bytes, set explicitly) with
/// "Message size too large"; a real broker refuses batches over its own <c>message.max.bytes</c> (Kafka's
/// default 1,048,588). The embedded broker checks no size at all, but keeps only about 5 MiB per partition
/// and silently drops the oldest data beyond that — a record over 5 MiB is dropped right after its ack.
/// So the producer's limit is the one that binds there.
/// </summary>
public static class MessageLimits
{
    /// <summary>Bytes librdkafka counts on top of key, value and headers (RD_KAFKAP_MESSAGE_V2_MAX_OVERHEAD is 36), with a margin.</summary>
    private const int RecordOverhead = 64;

    /// <summary>The record's size as the producer checks it against <c>message.max.bytes</c> (a slight overestimate).</summary>
    public static long SizeOf(Message<string, byte[]> message)
    {
        long size = RecordOverhead + (message.Key is null ? 0 : System.Text.Encoding.UTF8.GetByteCount(message.Key)) + (message.Value?.Length ?? 0);
        if (message.Headers is not null)
            foreach (var header in message.Headers)
                size += 10 + System.Text.Encoding.UTF8.GetByteCount(header.Key) + (header.GetValueBytes()?.Length ?? 0);
        return size;
    }

    /// <summary>
    /// The largest record the producer and the broker at <paramref name="endpoint"/> both take: the
    /// producer's limit, lowered to the broker's <c>message.max.bytes</c> where the broker reports it
    /// (DescribeConfigs; the embedded broker does not implement it, and sets no limit).
    /// </summary>
    public static int MaxRecordBytes(KafkaEndpoint endpoint)
    {
        int limit = KafkaClients.MaxMessageBytes;
        try
        {
            using var admin = KafkaClients.CreateAdmin(endpoint);
            var broker = admin.GetMetadata(TimeSpan.FromSeconds(10)).Brokers.FirstOrDefault();
            if (broker is null) return limit;
            var described = admin.DescribeConfigsAsync(
                    [new ConfigResource { Type = ResourceType.Broker, Name = broker.BrokerId.ToString() }],
                    new DescribeConfigsOptions { RequestTimeout = TimeSpan.FromSeconds(5) })
                .GetAwaiter().GetResult();
            if (described.FirstOrDefault()?.Entries.TryGetValue("message.max.bytes", out var entry) == true
                && int.TryParse(entry.Value, out var brokerLimit) && brokerLimit > 0)
                limit = Math.Min(limit, brokerLimit);
        }
        catch (KafkaException)
        {
            // Not implemented (the embedded broker) or not allowed (ACLs): the producer's limit stands.
        }
        return limit;
    }
}
