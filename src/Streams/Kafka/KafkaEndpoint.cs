namespace BitActors.Streams.Kafka;

/// <summary>
/// The Kafka a command talks to: its bootstrap servers and the client properties (security …) every client
/// made for it gets. Built once from the configuration and handed to whatever makes clients, so no setting
/// lives in a static. Printed, it is its bootstrap servers only: the settings may hold secrets.
/// </summary>
public sealed record KafkaEndpoint(string BootstrapServers, KafkaClientSettings Client)
{
    /// <summary>A broker that needs no client settings (the embedded one, tests).</summary>
    public KafkaEndpoint(string bootstrapServers) : this(bootstrapServers, KafkaClientSettings.Empty) { }

    public override string ToString() => BootstrapServers;
}
