using Confluent.Kafka;

namespace BitActors.Streams.Kafka;

/// <summary>
/// How large one record may be: the smallest of the producer's <c>message.max.bytes</c> (librdkafka's default,
/// <see cref="KafkaClients.MaxMessageBytes"/>, or what <c>bitactors.kafka.client</c> sets), the broker's
/// <c>message.max.bytes</c> and the topic's <c>max.message.bytes</c> where they are described. The embedded
/// broker describes none and checks no size, but keeps only about 5 MiB per partition and silently drops the
/// oldest data beyond that, so the producer's limit is the one that binds there.
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

    /// <summary>The producer's <c>message.max.bytes</c> for this endpoint (its client settings may change it).</summary>
    public static long ProducerMaxBytes(KafkaEndpoint endpoint) => KafkaClients.Producer(endpoint).MessageMaxBytes ?? KafkaClients.MaxMessageBytes;

    /// <summary>The smallest of the limits that are known.</summary>
    public static long RecordLimit(long producer, long? broker, long? topic) =>
        Math.Min(producer, Math.Min(broker is > 0 ? broker.Value : long.MaxValue, topic is > 0 ? topic.Value : long.MaxValue));

    /// <summary>The largest record the producer, the broker and <paramref name="topic"/> (where it exists) all take.</summary>
    public static async Task<long> MaxRecordBytesAsync(ITopicAdmin admin, string? topic, CancellationToken cancellationToken = default)
    {
        var broker = await admin.BrokerMaxMessageBytesAsync(cancellationToken);
        var described = topic is null ? null : await admin.DescribeTopicAsync(topic, cancellationToken);
        return RecordLimit(ProducerMaxBytes(admin.Endpoint), broker, described?.MaxMessageBytes);
    }

    /// <summary>Where the limit comes from, for messages that name it.</summary>
    public const string Explained = "the smallest of the producer's message.max.bytes, the broker's message.max.bytes and the topic's max.message.bytes";
}
