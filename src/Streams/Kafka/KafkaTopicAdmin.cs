using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace BitActors.Streams.Kafka;

/// <summary>
/// Creates topics on a broker reached by address. Real Kafka: the Admin API. An embedded broker in another
/// process (<c>bitactors kafka up</c>) cannot create topics through the Admin API, so the request goes to
/// its control topic (<see cref="TopicRequests.Topic"/>) and this waits until the topic appears.
/// </summary>
public sealed class KafkaTopicAdmin(string bootstrapServers) : ITopicAdmin
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public string BootstrapServers { get; } = bootstrapServers;

    public async Task EnsureTopicAsync(TopicSpec spec, CancellationToken cancellationToken = default)
    {
        using var admin = KafkaClients.CreateAdmin(BootstrapServers);
        if (KafkaClients.PartitionCount(admin, spec.Name, Timeout) > 0) return;
        try
        {
            var config = spec.Compacted ? new Dictionary<string, string> { ["cleanup.policy"] = "compact" } : null;
            await admin.CreateTopicsAsync([new TopicSpecification { Name = spec.Name, NumPartitions = spec.Partitions, ReplicationFactor = -1, Configs = config }]);
            return;
        }
        catch (CreateTopicsException e) when (e.Results.All(r => r.Error.Code == ErrorCode.TopicAlreadyExists))
        {
            return;
        }
        catch (KafkaException adminError)
        {
            // The embedded broker does not implement CreateTopics: ask its owner process instead.
            await TopicRequests.SendAsync(BootstrapServers, spec, cancellationToken);
            var deadline = DateTime.UtcNow + Timeout;
            while (DateTime.UtcNow < deadline)
            {
                if (KafkaClients.PartitionCount(admin, spec.Name, TimeSpan.FromSeconds(5)) >= spec.Partitions) return;
                await Task.Delay(100, cancellationToken);
            }
            throw new InvalidOperationException(
                $"could not create topic '{spec.Name}' at {BootstrapServers}: the Admin API said '{adminError.Error.Reason}' and no embedded broker answered the request on {TopicRequests.Topic}");
        }
    }
}

/// <summary>Topic-creation requests for an embedded broker owned by another process.</summary>
public static class TopicRequests
{
    public const string Topic = "bit.control.topics";

    public static async Task SendAsync(string bootstrapServers, TopicSpec spec, CancellationToken cancellationToken)
    {
        using var producer = KafkaClients.CreateProducer(bootstrapServers);
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
            using var consumer = KafkaClients.CreateConsumer(kafka.BootstrapServers, "bitactors-topic-requests");
            consumer.Assign(new TopicPartitionOffset(Topic, 0, Offset.Beginning));
            while (!cancellationToken.IsCancellationRequested)
            {
                var record = consumer.Consume(TimeSpan.FromMilliseconds(200));
                if (record?.Message?.Value is null) continue;
                var spec = JsonSerializer.Deserialize<TopicSpec>(Encoding.UTF8.GetString(record.Message.Value));
                if (spec is null || spec.Partitions < 1) continue;
                kafka.CreateTopic(spec.Name, spec.Partitions);
                onCreated?.Invoke(spec);
            }
            consumer.Close();
        }, cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }
}
