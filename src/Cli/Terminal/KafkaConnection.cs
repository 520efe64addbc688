using BitActors.Streams.Kafka;
using Serilog;

namespace BitActors.Cli.Terminal;

/// <summary>The broker a command talks to: the one named, or an embedded one owned by this process.</summary>
public sealed class KafkaConnection : IDisposable
{
    private readonly EmbeddedKafka? embedded;

    private KafkaConnection(ITopicAdmin admin, EmbeddedKafka? embedded)
    {
        Admin = admin;
        this.embedded = embedded;
    }

    public ITopicAdmin Admin { get; }

    public string BootstrapServers => Admin.BootstrapServers;

    public bool IsEmbedded => embedded is not null;

    public static KafkaConnection Open(string? bootstrapServers, int embeddedBrokers = 1)
    {
        if (!string.IsNullOrWhiteSpace(bootstrapServers))
        {
            if (!KafkaClientSettings.Current.IsEmpty) Log.Information("Kafka client settings: {Settings}", KafkaClientSettings.Current.Describe());
            KafkaClients.CheckReachable(bootstrapServers, TimeSpan.FromSeconds(15));
            return new KafkaConnection(new KafkaTopicAdmin(bootstrapServers), null);
        }
        if (!KafkaClientSettings.Current.IsEmpty)
        {
            Log.Warning("the embedded broker takes no client settings: ignoring {Settings}", KafkaClientSettings.Current.Describe());
            KafkaClientSettings.Current = KafkaClientSettings.Empty;
        }
        var kafka = new EmbeddedKafka(embeddedBrokers);
        Log.Information("embedded Kafka: {Brokers} broker(s) at {Bootstrap} (lives as long as this command)", embeddedBrokers, kafka.BootstrapServers);
        return new KafkaConnection(kafka, kafka);
    }

    public void Dispose() => embedded?.Dispose();
}
