using BitActors.Streams.Kafka;

namespace BitActors.Cli.Tests;

/// <summary>
/// SASL settings from the environment and from --config reach the clients of a command (the embedded
/// broker speaks no SASL, so a client that got them fails its handshake and says so), and the password
/// appears nowhere in what the command prints, even at Debug level with the failure's stack trace.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class KafkaSecurityTests : IDisposable
{
    private const string Password = "Pa55-w0rd-that-must-never-show";
    private readonly DirectoryInfo work = Directory.CreateTempSubdirectory("bitactors-security");

    [Fact]
    public async Task SaslSettingsReachEveryClientAndThePasswordIsNeverPrinted()
    {
        using var kafka = new EmbeddedKafka();
        var config = Path.Combine(work.FullName, "secure.conf");
        // Mechanism and user in the configuration file, protocol and password in the environment.
        File.WriteAllText(config, "bitactors.kafka.client { sasl.mechanism = PLAIN, \"sasl.username\" = alice }");
        var environment = new Dictionary<string, string>
        {
            ["BITACTORS_KAFKA_SECURITY_PROTOCOL"] = "SASL_PLAINTEXT",
            ["BITACTORS_KAFKA_SASL_PASSWORD"] = Password,
            // The most that is ever printed: every log line (librdkafka's own included) and the failure's stack.
            ["BITACTORS_LOG_LEVEL"] = "Debug",
            ["BITACTORS_DEBUG"] = "1",
        };
        using var cli = new CliProcess(environment, "run", "--config", config, "--bootstrap-servers", kafka.BootstrapServers,
            "--dataset", "secure", "--output", work.FullName);
        var code = await cli.WaitForExitAsync(TimeSpan.FromMinutes(2));

        Assert.NotEqual(0, code);
        var printed = cli.Stdout + cli.Stderr;
        Assert.Contains("sasl.mechanism=PLAIN", printed);
        Assert.Contains("sasl.password=[redacted]", printed);
        Assert.Contains("security.protocol=SASL_PLAINTEXT", printed);
        Assert.Contains("SASL", printed[printed.IndexOf("WRN", StringComparison.Ordinal)..]); // the handshake the client attempted
        Assert.Contains($"Kafka at '{kafka.BootstrapServers}' is unreachable", printed);
        Assert.DoesNotContain(Password, printed);
        Assert.DoesNotContain(Password, string.Concat(Directory.GetFiles(work.FullName, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".conf")).Select(File.ReadAllText)));
    }

    public void Dispose() => work.Delete(true);
}

/// <summary>The redaction a fatal failure is logged with, read from the command line alone.</summary>
public sealed class FatalRedactionTests : IDisposable
{
    private readonly string config = Path.Combine(Path.GetTempPath(), $"bitactors-redaction-{Guid.NewGuid():N}.conf");

    [Fact]
    public void SecretsOfTheConfigFileAndTheSetFlagsAreRedactedAndABadLayerIsLeftOut()
    {
        File.WriteAllText(config, "bitactors.kafka.client { sasl.password = from-the-file }");
        var redact = BitActors.Cli.Terminal.Logging.KafkaRedaction(["run", "--config", config, "--set", "bitactors.kafka.client.sasl.password=from-set"]);
        Assert.Equal("[redacted] from-the-file", redact("from-set from-the-file"));
        Assert.Equal("[redacted]", BitActors.Cli.Terminal.Logging.KafkaRedaction(["run", $"--config={config}"])("from-the-file"));
        // An unknown key in --set fails the command; the file's secrets are still hidden from its message.
        Assert.Equal("[redacted]", BitActors.Cli.Terminal.Logging.KafkaRedaction(["run", "--config", config, "--set", "bitactors.nope=1"])("from-the-file"));
        Assert.Equal("nothing secret", BitActors.Cli.Terminal.Logging.KafkaRedaction(["run", "--config", "/no/such/file"])("nothing secret"));
    }

    public void Dispose() => File.Delete(config);
}
