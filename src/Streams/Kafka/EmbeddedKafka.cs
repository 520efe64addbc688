using System.Runtime.InteropServices;
using System.Text;

namespace BitActors.Streams.Kafka;

/// <summary>
/// An embedded Kafka cluster: librdkafka's own mock cluster, speaking the real Kafka protocol on loopback
/// ports, so Confluent.Kafka clients and kcat talk to it over TCP. Topics must be created through the
/// mock API (<see cref="CreateTopic"/>); the mock keeps only about 5 MB or 100k messages per partition
/// and silently drops older data, so callers size partitions with <see cref="TopicSizing"/>.
/// </summary>
public sealed class EmbeddedKafka : ITopicAdmin, IDisposable
{
    private readonly IntPtr client;
    private IntPtr cluster;
    private readonly object gate = new();

    public EmbeddedKafka(int brokers = 1)
    {
        if (brokers < 1) throw new ArgumentOutOfRangeException(nameof(brokers), brokers, "at least one broker");
        KafkaNative.EnsureInitialized();
        var conf = Native.rd_kafka_conf_new();
        var errstr = new StringBuilder(512);
        // The mock cluster needs a client instance as its owner; a producer handle that never produces.
        Native.rd_kafka_conf_set(conf, "client.id", "bitactors-embedded-kafka", errstr, (UIntPtr)errstr.Capacity);
        // The owner never connects anywhere; without this it logs a notice that it has no bootstrap.servers.
        Native.rd_kafka_conf_set(conf, "log_level", "4", errstr, (UIntPtr)errstr.Capacity);
        client = Native.rd_kafka_new(0, conf, errstr, (UIntPtr)errstr.Capacity);
        if (client == IntPtr.Zero) throw new InvalidOperationException($"embedded Kafka: could not create owner client: {errstr}");
        cluster = Native.rd_kafka_mock_cluster_new(client, brokers);
        if (cluster == IntPtr.Zero)
        {
            Native.rd_kafka_destroy(client);
            throw new InvalidOperationException("embedded Kafka: rd_kafka_mock_cluster_new failed");
        }
        Brokers = brokers;
        BootstrapServers = Marshal.PtrToStringAnsi(Native.rd_kafka_mock_cluster_bootstraps(cluster))!;
        Endpoint = new KafkaEndpoint(BootstrapServers);
    }

    public string BootstrapServers { get; }

    /// <summary>The clients' view of it: the mock cluster speaks no security protocol, so no client settings.</summary>
    public KafkaEndpoint Endpoint { get; }

    public int Brokers { get; }

    /// <summary>Creates a topic; an existing topic of that name is left as it is.</summary>
    public void CreateTopic(string topic, int partitions, int replicationFactor = 1)
    {
        if (partitions < 1) throw new ArgumentOutOfRangeException(nameof(partitions));
        lock (gate)
        {
            var err = Native.rd_kafka_mock_topic_create(Cluster, topic, partitions, Math.Min(replicationFactor, Brokers));
            const int TopicAlreadyExists = 36;
            if (err != 0 && err != TopicAlreadyExists)
                throw new InvalidOperationException($"embedded Kafka: creating topic '{topic}' with {partitions} partitions failed: error {err}");
        }
    }

    public bool IsEmbedded => true;

    /// <summary>The mock keeps every topic the same way (no retention settings, no size check): it describes none.</summary>
    public Task EnsureTopicAsync(TopicSpec spec, CancellationToken cancellationToken = default)
    {
        CreateTopic(spec.Name, spec.Partitions);
        return Task.CompletedTask;
    }

    /// <summary>The mock does not implement DescribeConfigs: nothing is described.</summary>
    public Task<TopicConfig?> DescribeTopicAsync(string topic, CancellationToken cancellationToken = default) => Task.FromResult<TopicConfig?>(null);

    public Task<long?> BrokerMaxMessageBytesAsync(CancellationToken cancellationToken = default) => Task.FromResult<long?>(null);

    /// <summary>Fault injection: take a broker down (1-based id) or bring it back.</summary>
    public void SetBrokerDown(int brokerId) => Check(Native.rd_kafka_mock_broker_set_down(Cluster, brokerId), "broker down");

    public void SetBrokerUp(int brokerId) => Check(Native.rd_kafka_mock_broker_set_up(Cluster, brokerId), "broker up");

    /// <summary>Fault injection: every broker down (connections closed, new ones refused), or all back up.</summary>
    public void SetAllBrokersDown() => SetBrokerDown(AllBrokers);

    public void SetAllBrokersUp() => SetBrokerUp(AllBrokers);

    /// <summary>Fault injection: a broker (1-based id, or every broker) answers each request after this delay.</summary>
    public void SetRoundTripTime(TimeSpan rtt, int brokerId = AllBrokers) =>
        Check(Native.rd_kafka_mock_broker_set_rtt(Cluster, brokerId, (int)rtt.TotalMilliseconds), "set round-trip time");

    /// <summary>
    /// Fault injection: the next requests of kind <paramref name="api"/> (to any broker) fail with these errors,
    /// one error per request, in order; the request is not applied (a failed produce writes nothing).
    /// </summary>
    public void PushRequestErrors(KafkaApi api, params Confluent.Kafka.ErrorCode[] errors)
    {
        var codes = errors.Select(e => (int)e).ToArray();
        lock (gate) Native.rd_kafka_mock_push_request_errors_array(Cluster, (short)api, (UIntPtr)codes.Length, codes);
    }

    public void ClearRequestErrors(KafkaApi api)
    {
        lock (gate) Native.rd_kafka_mock_clear_request_errors(Cluster, (short)api);
    }

    /// <summary>Fault injection: the partition's leadership moves to another broker (1-based id); clients must find it.</summary>
    public void MovePartitionLeader(string topic, int partition, int brokerId) =>
        Check(Native.rd_kafka_mock_partition_set_leader(Cluster, topic, partition, brokerId), $"move leader of {topic}/{partition} to broker {brokerId}");

    /// <summary>The mock's broker id meaning "every broker".</summary>
    public const int AllBrokers = -1;

    private static void Check(int err, string what)
    {
        if (err != 0) throw new InvalidOperationException($"embedded Kafka: {what} failed: error {err}");
    }

    private IntPtr Cluster => cluster != IntPtr.Zero ? cluster : throw new ObjectDisposedException(nameof(EmbeddedKafka));

    public void Dispose()
    {
        lock (gate)
        {
            if (cluster == IntPtr.Zero) return;
            Native.rd_kafka_mock_cluster_destroy(cluster);
            cluster = IntPtr.Zero;
            Native.rd_kafka_destroy(client);
        }
    }

    private static class Native
    {
        private const string Lib = "librdkafka";

        [DllImport(Lib)] public static extern IntPtr rd_kafka_conf_new();
        [DllImport(Lib)] public static extern int rd_kafka_conf_set(IntPtr conf, string name, string value, StringBuilder errstr, UIntPtr errstrSize);
        [DllImport(Lib)] public static extern IntPtr rd_kafka_new(int type, IntPtr conf, StringBuilder errstr, UIntPtr errstrSize);
        [DllImport(Lib)] public static extern void rd_kafka_destroy(IntPtr rk);
        [DllImport(Lib)] public static extern IntPtr rd_kafka_mock_cluster_new(IntPtr rk, int brokerCount);
        [DllImport(Lib)] public static extern void rd_kafka_mock_cluster_destroy(IntPtr mcluster);
        [DllImport(Lib)] public static extern IntPtr rd_kafka_mock_cluster_bootstraps(IntPtr mcluster);
        [DllImport(Lib)] public static extern int rd_kafka_mock_topic_create(IntPtr mcluster, string topic, int partitionCount, int replicationFactor);
        [DllImport(Lib)] public static extern int rd_kafka_mock_broker_set_down(IntPtr mcluster, int brokerId);
        [DllImport(Lib)] public static extern int rd_kafka_mock_broker_set_up(IntPtr mcluster, int brokerId);
        [DllImport(Lib)] public static extern int rd_kafka_mock_broker_set_rtt(IntPtr mcluster, int brokerId, int rttMs);
        [DllImport(Lib)] public static extern void rd_kafka_mock_push_request_errors_array(IntPtr mcluster, short apiKey, UIntPtr count, int[] errors);
        [DllImport(Lib)] public static extern void rd_kafka_mock_clear_request_errors(IntPtr mcluster, short apiKey);
        [DllImport(Lib)] public static extern int rd_kafka_mock_partition_set_leader(IntPtr mcluster, string topic, int partition, int brokerId);
    }
}
