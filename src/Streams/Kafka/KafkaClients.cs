using Confluent.Kafka;

namespace BitActors.Streams.Kafka;

/// <summary>
/// Client configuration in one place; every client built here loads the bundled librdkafka and gets the
/// process's <see cref="KafkaClientSettings"/> (security and other client properties).
/// </summary>
public static class KafkaClients
{
    static KafkaClients() => KafkaNative.EnsureInitialized();

    /// <summary>The producer's <c>message.max.bytes</c> (librdkafka's default, stated): the largest record it sends.</summary>
    public const int MaxMessageBytes = 1_000_000;

    public static ProducerConfig Producer(string bootstrapServers) => WithSettings(new ProducerConfig
    {
        BootstrapServers = bootstrapServers,
        // Idempotence: a retried batch is never written twice; acks=all is implied.
        EnableIdempotence = true,
        LingerMs = 20,
        BatchNumMessages = 2000,
        QueueBufferingMaxMessages = 200_000,
        MessageTimeoutMs = 120_000,
        MessageMaxBytes = MaxMessageBytes,
        ClientId = "bitactors-producer",
    });

    public static ConsumerConfig Consumer(string bootstrapServers, string groupId) => WithSettings(new ConsumerConfig
    {
        BootstrapServers = bootstrapServers,
        GroupId = groupId,
        EnableAutoCommit = false,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        EnablePartitionEof = false,
        ClientId = "bitactors-consumer",
    });

    public static AdminClientConfig Admin(string bootstrapServers) => WithSettings(new AdminClientConfig { BootstrapServers = bootstrapServers });

    private static T WithSettings<T>(T config) where T : ClientConfig
    {
        KafkaClientSettings.Current.ApplyTo(config);
        return config;
    }

    public static IProducer<string, byte[]> CreateProducer(string bootstrapServers) =>
        new ProducerBuilder<string, byte[]>(Producer(bootstrapServers))
            .SetErrorHandler(KafkaDiagnostics.OnError).SetLogHandler(KafkaDiagnostics.OnLog).Build();

    public static IConsumer<string, byte[]> CreateConsumer(string bootstrapServers, string groupId) =>
        new ConsumerBuilder<string, byte[]>(Consumer(bootstrapServers, groupId))
            .SetErrorHandler(KafkaDiagnostics.OnError).SetLogHandler(KafkaDiagnostics.OnLog).Build();

    public static IAdminClient CreateAdmin(string bootstrapServers) =>
        new AdminClientBuilder(Admin(bootstrapServers))
            .SetErrorHandler(KafkaDiagnostics.OnError).SetLogHandler(KafkaDiagnostics.OnLog).Build();

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

    /// <summary>Fails fast with a clear message when no broker answers at <paramref name="bootstrapServers"/>.</summary>
    public static void CheckReachable(string bootstrapServers, TimeSpan timeout)
    {
        using var admin = CreateAdmin(bootstrapServers);
        try
        {
            var metadata = admin.GetMetadata(timeout);
            if (metadata.Brokers.Count == 0) throw new KafkaUnreachableException(bootstrapServers, "no brokers in metadata");
        }
        catch (KafkaException e)
        {
            throw new KafkaUnreachableException(bootstrapServers, e.Error.Reason);
        }
    }
}

public sealed class KafkaUnreachableException(string bootstrapServers, string reason)
    : Exception(KafkaClientSettings.Current.Redact($"Kafka at '{bootstrapServers}' is unreachable: {reason}"));
