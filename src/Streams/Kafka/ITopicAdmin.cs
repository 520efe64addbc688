namespace BitActors.Streams.Kafka;

/// <summary>
/// Creates and describes topics: through the mock API on the embedded broker, through the Admin API on real
/// Kafka, through the control topic on an embedded broker of another process (<c>bitactors kafka up</c>).
/// </summary>
public interface ITopicAdmin
{
    KafkaEndpoint Endpoint { get; }

    /// <summary>
    /// Whether the broker is the embedded one (in-process, or <c>kafka up</c>): only there are data topics
    /// sized by its capacity (<see cref="TopicSizing"/>).
    /// </summary>
    bool IsEmbedded { get; }

    Task EnsureTopicAsync(TopicSpec spec, CancellationToken cancellationToken = default);

    /// <summary>The topic's configuration, or null when the topic does not exist or the broker does not describe configs.</summary>
    Task<TopicConfig?> DescribeTopicAsync(string topic, CancellationToken cancellationToken = default);

    /// <summary>The broker's <c>message.max.bytes</c>, or null when the broker does not describe it.</summary>
    Task<long?> BrokerMaxMessageBytesAsync(CancellationToken cancellationToken = default);
}

/// <summary>What a topic's configuration says about keeping and taking records (null: not described).</summary>
public sealed record TopicConfig(long? RetentionMs, long? RetentionBytes, long? MaxMessageBytes)
{
    /// <summary>Whether the broker deletes its records after a time or beyond a size (-1 in both: never).</summary>
    public bool Expires => RetentionMs is >= 0 || RetentionBytes is >= 0;

    public string DescribeRetention() =>
        string.Join(", ", new[] { RetentionMs is { } ms && ms >= 0 ? $"retention.ms={ms} ({TimeSpan.FromMilliseconds(ms).TotalDays:0.#} days)" : null,
            RetentionBytes is { } b && b >= 0 ? $"retention.bytes={b:N0}" : null }.Where(s => s is not null));
}
