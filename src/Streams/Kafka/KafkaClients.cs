using Confluent.Kafka;

namespace BitActors.Streams.Kafka;

/// <summary>
/// Client configuration in one place; every client built here loads the bundled librdkafka and gets its
/// endpoint's <see cref="KafkaClientSettings"/> (security and other client properties).
/// </summary>
public static class KafkaClients
{
    static KafkaClients() => KafkaNative.EnsureInitialized();

    /// <summary>The producer's <c>message.max.bytes</c> (librdkafka's default, stated): the largest record it sends.</summary>
    public const int MaxMessageBytes = 1_000_000;

    public static ProducerConfig Producer(KafkaEndpoint endpoint) => WithSettings(endpoint, new ProducerConfig
    {
        BootstrapServers = endpoint.BootstrapServers,
        // Idempotence: a retried batch is never written twice; acks=all is implied.
        EnableIdempotence = true,
        LingerMs = 20,
        BatchNumMessages = 2000,
        QueueBufferingMaxMessages = 200_000,
        MessageTimeoutMs = 120_000,
        MessageMaxBytes = MaxMessageBytes,
        ClientId = "bitactors-producer",
    });

    public static ConsumerConfig Consumer(KafkaEndpoint endpoint, string groupId) => WithSettings(endpoint, new ConsumerConfig
    {
        BootstrapServers = endpoint.BootstrapServers,
        GroupId = groupId,
        EnableAutoCommit = false,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        EnablePartitionEof = false,
        ClientId = "bitactors-consumer",
    });

    public static AdminClientConfig Admin(KafkaEndpoint endpoint) =>
        WithSettings(endpoint, new AdminClientConfig { BootstrapServers = endpoint.BootstrapServers });

    private static T WithSettings<T>(KafkaEndpoint endpoint, T config) where T : ClientConfig
    {
        endpoint.Client.ApplyTo(config);
        return config;
    }

    // The handlers redact what the clients say with the secrets of the settings they were given.
    /// <param name="configure">Changes to the configuration for this producer (e.g. bounds on its queue).</param>
    public static IProducer<string, byte[]> CreateProducer(KafkaEndpoint endpoint, Action<ProducerConfig>? configure = null)
    {
        var config = Producer(endpoint);
        configure?.Invoke(config);
        return new ProducerBuilder<string, byte[]>(config)
            .SetErrorHandler((c, e) => KafkaDiagnostics.OnError(c, e, endpoint.Client))
            .SetLogHandler((c, m) => KafkaDiagnostics.OnLog(c, m, endpoint.Client)).Build();
    }

    public static IConsumer<string, byte[]> CreateConsumer(KafkaEndpoint endpoint, string groupId) =>
        new ConsumerBuilder<string, byte[]>(Consumer(endpoint, groupId))
            .SetErrorHandler((c, e) => KafkaDiagnostics.OnError(c, e, endpoint.Client))
            .SetLogHandler((c, m) => KafkaDiagnostics.OnLog(c, m, endpoint.Client)).Build();

    public static IAdminClient CreateAdmin(KafkaEndpoint endpoint) =>
        new AdminClientBuilder(Admin(endpoint))
            .SetErrorHandler((c, e) => KafkaDiagnostics.OnError(c, e, endpoint.Client))
            .SetLogHandler((c, m) => KafkaDiagnostics.OnLog(c, m, endpoint.Client)).Build();

    /// <summary>Partition count of a topic, or 0 when it does not exist (yet).</summary>
    /// <remarks>
    /// Asks for all topics: a metadata request naming the topic makes brokers that auto-create topics
    /// (the embedded one does, with 4 partitions) create it with the wrong partition count.
    /// </remarks>
    public static int PartitionCount(IAdminClient admin, string topic, TimeSpan timeout)
    {
        var metadata = admin.GetMetadata(timeout);
        var t = metadata.Topics.FirstOrDefault(x => x.Topic == topic);
        return t is null || t.Error.IsError ? 0 : t.Partitions.Count;
    }

    /// <summary>Fails fast with a clear message when no broker answers at <paramref name="endpoint"/>.</summary>
    public static void CheckReachable(KafkaEndpoint endpoint, TimeSpan timeout)
    {
        using var admin = CreateAdmin(endpoint);
        try
        {
            var metadata = admin.GetMetadata(timeout);
            if (metadata.Brokers.Count == 0) throw new KafkaUnreachableException(endpoint, "no brokers in metadata");
        }
        catch (KafkaException e)
        {
            throw new KafkaUnreachableException(endpoint, e.Error.Reason);
        }
    }
}

public sealed class KafkaUnreachableException(KafkaEndpoint endpoint, string reason)
    : Exception(endpoint.Client.Redact($"Kafka at '{endpoint.BootstrapServers}' is unreachable: {reason}"));
