using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace BitActors.Streams.Kafka;

/// <summary>
/// Creates and describes topics on a broker reached by address. Real Kafka: the Admin API. An embedded broker in another
/// process (<c>bitactors kafka up</c>) cannot create topics through the Admin API, so the request goes to
/// its control topic (<see cref="TopicRequests.Topic"/>) and this waits until the topic appears.
/// An existing topic with too few partitions is an error, never silently used.
/// </summary>
public sealed class KafkaTopicAdmin(KafkaEndpoint endpoint) : ITopicAdmin
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private bool? embedded;

    public KafkaEndpoint Endpoint { get; } = endpoint;

    /// <summary>An embedded broker of another process announces itself with its control topic.</summary>
    public bool IsEmbedded
    {
        get
        {
            if (embedded is { } known) return known;
            using var admin = KafkaClients.CreateAdmin(Endpoint);
            return (embedded = KafkaClients.PartitionCount(admin, TopicRequests.Topic, Timeout) > 0).Value;
        }
    }

    public async Task<TopicConfig?> DescribeTopicAsync(string topic, CancellationToken cancellationToken = default)
    {
        using var admin = KafkaClients.CreateAdmin(Endpoint);
        if (KafkaClients.PartitionCount(admin, topic, Timeout) == 0) return null;
        var entries = await DescribeAsync(admin, new ConfigResource { Type = ResourceType.Topic, Name = topic });
        return entries is null ? null : new TopicConfig(Number(entries, "retention.ms"), Number(entries, "retention.bytes"), Number(entries, "max.message.bytes"));
    }

    public async Task<long?> BrokerMaxMessageBytesAsync(CancellationToken cancellationToken = default)
    {
        using var admin = KafkaClients.CreateAdmin(Endpoint);
        var broker = admin.GetMetadata(TimeSpan.FromSeconds(10)).Brokers.FirstOrDefault();
        if (broker is null) return null;
        var entries = await DescribeAsync(admin, new ConfigResource { Type = ResourceType.Broker, Name = broker.BrokerId.ToString() });
        return entries is null ? null : Number(entries, "message.max.bytes");
    }

    /// <summary>A resource's configuration; null where the broker does not implement DescribeConfigs (the embedded one) or refuses it (ACLs).</summary>
    private static async Task<Dictionary<string, ConfigEntryResult>?> DescribeAsync(IAdminClient admin, ConfigResource resource)
    {
        try
        {
            var described = await admin.DescribeConfigsAsync([resource], new DescribeConfigsOptions { RequestTimeout = TimeSpan.FromSeconds(5) });
            return described.FirstOrDefault()?.Entries;
        }
        catch (KafkaException) { return null; }
    }

    private static long? Number(Dictionary<string, ConfigEntryResult> entries, string key) =>
        entries.TryGetValue(key, out var entry) && long.TryParse(entry.Value, out var value) ? value : null;

    public async Task EnsureTopicAsync(TopicSpec spec, CancellationToken cancellationToken = default)
    {
        using var admin = KafkaClients.CreateAdmin(Endpoint);
        var existing = KafkaClients.PartitionCount(admin, spec.Name, Timeout);
        if (existing >= spec.Partitions) return;
        if (existing > 0)
            throw new InvalidOperationException($"topic '{spec.Name}' exists with {existing} partitions, fewer than the {spec.Partitions} needed; delete it or publish under another name");
        // An embedded broker owned by `bitactors kafka up` announces itself with its control topic; it does
        // not implement CreateTopics (a request to it only times out), so ask its owner instead.
        if (KafkaClients.PartitionCount(admin, TopicRequests.Topic, Timeout) > 0)
        {
            await TopicRequests.SendAsync(Endpoint, spec, cancellationToken);
            var deadline = DateTime.UtcNow + Timeout;
            while (DateTime.UtcNow < deadline)
            {
                if (KafkaClients.PartitionCount(admin, spec.Name, TimeSpan.FromSeconds(5)) >= spec.Partitions) return;
                await Task.Delay(50, cancellationToken);
            }
            throw new InvalidOperationException($"the embedded broker at {Endpoint} did not create topic '{spec.Name}' within {Timeout.TotalSeconds:F0} s");
        }
        try
        {
            var config = new Dictionary<string, string>();
            if (spec.Compacted) config["cleanup.policy"] = "compact";
            if (spec.KeepForever) (config["retention.ms"], config["retention.bytes"]) = ("-1", "-1");
            await admin.CreateTopicsAsync([new TopicSpecification { Name = spec.Name, NumPartitions = spec.Partitions, ReplicationFactor = -1, Configs = config }]);
        }
        catch (CreateTopicsException e) when (e.Results.All(r => r.Error.Code == ErrorCode.TopicAlreadyExists))
        {
        }
        catch (KafkaException e)
        {
            throw new InvalidOperationException($"could not create topic '{spec.Name}' with {spec.Partitions} partitions at {Endpoint}: {e.Error.Reason}", e);
        }
    }
}

/// <summary>Topic-creation requests for an embedded broker owned by another process.</summary>
public static class TopicRequests
{
    public const string Topic = "bit.control.topics";

    public static async Task SendAsync(KafkaEndpoint endpoint, TopicSpec spec, CancellationToken cancellationToken)
    {
        using var producer = KafkaClients.CreateProducer(endpoint);
        var value = JsonSerializer.SerializeToUtf8Bytes(spec);
        await producer.ProduceAsync(Topic, new Message<string, byte[]> { Key = spec.Name, Value = value }, cancellationToken);
    }

    /// <summary>
    /// Serves requests for <paramref name="kafka"/> until cancelled: each request creates its topic
    /// through the mock API. Runs on its own thread (the consumer's calls block).
    /// </summary>
    public static Task ServeAsync(EmbeddedKafka kafka, Action<TopicSpec>? onCreated, CancellationToken cancellationToken)
    {
        kafka.CreateTopic(Topic, 1);
        return Task.Factory.StartNew(() =>
        {
            using var consumer = KafkaClients.CreateConsumer(kafka.Endpoint, "bitactors-topic-requests");
            consumer.Assign(new TopicPartitionOffset(Topic, 0, Offset.Beginning));
            while (!cancellationToken.IsCancellationRequested)
            {
                // A failed fetch (the broker down, an injected error) is fetched again; a bad request is said and skipped:
                // neither ends the serving.
                var record = BrokerRetry.Consume(consumer, kafka.Endpoint.Client, TimeSpan.FromMilliseconds(200));
                if (record?.Message?.Value is null) continue;
                if (Parse(record.Message.Value) is not { } spec)
                {
                    KafkaDiagnostics.Warn($"topic-request/{record.Offset}", $"{Topic} offset {record.Offset}: not a topic request (JSON with name and partitions ≥ 1); skipped");
                    continue;
                }
                try
                {
                    kafka.CreateTopic(spec.Name, spec.Partitions);
                    onCreated?.Invoke(spec);
                }
                catch (Exception e) when (e is InvalidOperationException or ArgumentException)
                {
                    KafkaDiagnostics.Warn($"topic-request/{record.Offset}", $"{Topic} offset {record.Offset}: topic '{spec.Name}' not created: {e.Message}");
                }
            }
            consumer.Close();
        }, cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private static TopicSpec? Parse(byte[] value)
    {
        try
        {
            var spec = JsonSerializer.Deserialize<TopicSpec>(value);
            return spec is { Name.Length: > 0, Partitions: >= 1 } ? spec : null;
        }
        catch (JsonException) { return null; }
    }
}
