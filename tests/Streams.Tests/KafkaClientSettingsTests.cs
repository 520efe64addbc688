using System.Collections;
using BitActors.Streams.Kafka;
using Confluent.Kafka;

namespace BitActors.Streams.Tests;

public class KafkaClientSettingsTests
{
    private const string Password = "pa55-w0rd-never-shown";

    private static KafkaClientSettings Settings(IDictionary? environment = null) => KafkaClientSettings.From(
        [new("security.protocol", "SASL_SSL"), new("sasl.mechanism", "SCRAM-SHA-512"), new("sasl.username", "alice"),
         new("sasl.password", "from-config"), new("ssl.ca.location", "/etc/ssl/ca.pem")],
        environment ?? new Hashtable { ["BITACTORS_KAFKA_SASL_PASSWORD"] = Password, ["PATH"] = "/usr/bin", ["BITACTORS_LOG_LEVEL"] = "Debug" });

    [Fact]
    public void ConfigurationAndEnvironmentPropertiesReachProducerConsumerAndAdminConfigsTheEnvironmentWinning()
    {
        var settings = Settings();
        Assert.Equal(Password, settings.Properties["sasl.password"]);
        Assert.Equal(5, settings.Properties.Count); // PATH and BITACTORS_LOG_LEVEL are not Kafka's
        foreach (ClientConfig config in new ClientConfig[] { new ProducerConfig(), new ConsumerConfig(), new AdminClientConfig() })
        {
            settings.ApplyTo(config);
            // What librdkafka is given: the properties as set.
            Assert.Equal("SASL_SSL", config.Get("security.protocol"));
            Assert.Equal("SCRAM-SHA-512", config.Get("sasl.mechanism"));
            Assert.Equal("alice", config.SaslUsername);
            Assert.Equal(Password, config.SaslPassword);
            Assert.Equal("/etc/ssl/ca.pem", config.SslCaLocation);
        }
    }

    [Fact]
    public void SecretsAreHiddenInDescriptionsAndRedactedFromText()
    {
        var settings = Settings();
        var described = settings.Describe();
        Assert.Contains("sasl.username=alice", described);
        Assert.Contains("sasl.password=[redacted]", described);
        Assert.DoesNotContain(Password, described);
        Assert.Equal("auth failed for [redacted]!", settings.Redact($"auth failed for {Password}!"));
        Assert.True(KafkaClientSettings.IsSecret("ssl.key.password"));
        Assert.True(KafkaClientSettings.IsSecret("sasl.oauthbearer.client.secret"));
        Assert.True(KafkaClientSettings.IsSecret("sasl.jaas.config"));
        Assert.False(KafkaClientSettings.IsSecret("sasl.username"));
    }

    [Fact]
    public void BootstrapServersAndGroupsCannotBeSetThroughClientProperties()
    {
        var e = Assert.Throws<ArgumentException>(() => Settings(new Hashtable { ["BITACTORS_KAFKA_BOOTSTRAP_SERVERS"] = "elsewhere:9092" }));
        Assert.Contains("bootstrap.servers", e.Message);
    }
}

public class KafkaClientsSettingsTests
{
    [Fact]
    public void EveryClientConfigKafkaClientsBuildsCarriesItsEndpointsSettings()
    {
        var endpoint = new KafkaEndpoint("b:9092",
            KafkaClientSettings.From([new("security.protocol", "SASL_SSL"), new("sasl.password", "hush")], new Hashtable()));
        foreach (ClientConfig config in new ClientConfig[]
            { KafkaClients.Producer(endpoint), KafkaClients.Consumer(endpoint, "g"), KafkaClients.Admin(endpoint) })
        {
            Assert.Equal("SASL_SSL", config.Get("security.protocol"));
            Assert.Equal("hush", config.Get("sasl.password"));
            Assert.Equal("b:9092", config.BootstrapServers);
        }
        Assert.DoesNotContain("hush", new KafkaUnreachableException(endpoint, "login hush refused").Message);
        // Printed, an endpoint is its servers: never its settings.
        Assert.Equal("b:9092", endpoint.ToString());
        // An endpoint without settings gives its clients none: nothing is shared between endpoints.
        Assert.Null(KafkaClients.Producer(new KafkaEndpoint("b:9092")).Get("sasl.password"));
    }
}
