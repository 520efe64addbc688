namespace BitActors.Streams.Kafka;

/// <summary>Kafka protocol request kinds (the protocol's ApiKey numbers), for the embedded broker's fault injection.</summary>
public enum KafkaApi : short
{
    Produce = 0,
    Fetch = 1,
    ListOffsets = 2,
    Metadata = 3,
}
