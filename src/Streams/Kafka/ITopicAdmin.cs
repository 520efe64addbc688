namespace BitActors.Streams.Kafka;

/// <summary>Creates topics: through the mock API on the embedded broker, through the Admin API on real Kafka.</summary>
public interface ITopicAdmin
{
    KafkaEndpoint Endpoint { get; }

    Task EnsureTopicAsync(TopicSpec spec, CancellationToken cancellationToken = default);
}
