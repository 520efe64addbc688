using Akka.Configuration;
using BitActors.Actors.Hosting;
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

    /// <summary>The broker and the client settings every client of the command gets.</summary>
    public KafkaEndpoint Endpoint => Admin.Endpoint;

    public bool IsEmbedded => embedded is not null;

    /// <param name="bootstrapServers">The broker named; none: an embedded one.</param>
    /// <param name="config">The command's configuration: its Kafka client settings (<see cref="BitActorsConfig.KafkaClient"/>).</param>
    public static KafkaConnection Open(string? bootstrapServers, Config config, int embeddedBrokers = 1)
    {
        var client = BitActorsConfig.KafkaClient(config);
        if (!string.IsNullOrWhiteSpace(bootstrapServers))
        {
            if (!client.IsEmpty) Log.Information("Kafka client settings: {Settings}", client.Describe());
            var endpoint = new KafkaEndpoint(bootstrapServers, client);
            KafkaClients.CheckReachable(endpoint, TimeSpan.FromSeconds(15));
            return new KafkaConnection(new KafkaTopicAdmin(endpoint), null);
        }
        if (!client.IsEmpty) Log.Warning("the embedded broker takes no client settings: ignoring {Settings}", client.Describe());
        var kafka = new EmbeddedKafka(embeddedBrokers);
        Log.Information("embedded Kafka: {Brokers} broker(s) at {Bootstrap} (lives as long as this command)", embeddedBrokers, kafka.BootstrapServers);
        return new KafkaConnection(kafka, kafka);
    }

    public void Dispose() => embedded?.Dispose();
}
