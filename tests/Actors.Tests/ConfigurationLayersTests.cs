using BitActors.Actors.Hosting;

namespace BitActors.Actors.Tests;

public class ConfigurationLayersTests
{
    private static readonly Dictionary<string, string> NoEnvironment = new();

    [Fact]
    public void EnvironmentVariablesOverrideTheFileAndSetFlagsOverrideBoth()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "bitactors.upstream { batch-size = 16, steps = 100 }\nbitactors.device = cpu");
            var environment = new Dictionary<string, string>
            {
                ["BITACTORS__UPSTREAM__BATCH_SIZE"] = "32",
                ["BITACTORS__UPSTREAM__STEPS"] = "300",
                ["BITACTORS__DEVICE"] = "cuda:1",
                ["BITACTORS__UPSTREAM__CLASSES"] = "[1, 2]",
                ["BITACTORS_LOG_LEVEL"] = "Debug",  // not a configuration variable (one underscore)
            };
            var config = BitActorsConfig.Load(file, ["bitactors.upstream.steps=500", "bitactors.upstream.restart-backoff = 250ms"], environment);

            var upstream = BitActorsConfig.Upstream(config);
            Assert.Equal(32, upstream.Schedule.BatchSize);             // environment over file
            Assert.Equal(500, upstream.Schedule.Steps);                // --set over environment
            Assert.Equal(0.25, upstream.Loop.RestartBackoffSeconds);
            Assert.Equal([1, 2], upstream.Data.Classes.Classes);
            Assert.Equal("cuda:1", config.GetString("bitactors.device"));
            Assert.Equal(0.03, upstream.Schedule.BaseLrPer256);        // untouched: the reference
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void AnUnknownKeyOrABadValueIsRefusedNamingWhereItCameFrom()
    {
        var typo = Assert.Throws<InvalidDataException>(() => BitActorsConfig.Load(null, ["bitactors.upstream.stepz=5"], NoEnvironment));
        Assert.Contains("unknown configuration key 'bitactors.upstream.stepz'", typo.Message);
        var variable = Assert.Throws<InvalidDataException>(() => BitActorsConfig.Load(null, null, new Dictionary<string, string> { ["BITACTORS__UPSTREAM__BACTH_SIZE"] = "8" }));
        Assert.Contains("environment variable BITACTORS__UPSTREAM__BACTH_SIZE", variable.Message);
        Assert.Contains("'bitactors.upstream.bacth-size'", variable.Message);
        Assert.Contains("KEY=VALUE", Assert.Throws<InvalidDataException>(() => BitActorsConfig.Load(null, ["steps"], NoEnvironment)).Message);
        Assert.Contains("not a bitactors.* or akka.* key", Assert.Throws<InvalidDataException>(() => BitActorsConfig.Load(null, ["x.y=1"], NoEnvironment)).Message);
    }

    [Fact]
    public void AnUnknownKeyInTheConfigFileIsRefusedNamingTheFileAndTheKey()
    {
        var file = Path.GetTempFileName();
        try
        {
            string Refused(string hocon)
            {
                File.WriteAllText(file, hocon);
                return Assert.Throws<InvalidDataException>(() => BitActorsConfig.Load(file, null, NoEnvironment)).Message;
            }
            Assert.Contains($"--config {file}: unknown configuration key 'bitactors.upstream.stepz'", Refused("bitactors.upstream.stepz = 5"));
            Assert.Contains("unknown configuration key 'bitactors.upstreem'", Refused("bitactors.upstreem { steps = 5 }"));
            Assert.Contains("unknown configuration key 'bitactors.demo.finetune.batch-sise'", Refused("bitactors.demo { finetune { batch-sise = 32 } }"));

            // Free: akka.*, librdkafka's client properties, and in a demo's fine-tune overrides any bitactors.finetune key.
            File.WriteAllText(file, """
                akka.loglevel = DEBUG
                akka.cluster.split-brain-resolver.static-quorum.quorum-size = 2
                bitactors.kafka.client { socket.keepalive.enable = true }
                bitactors.demo.study-norm.finetune.batch-size = 32
                bitactors.demo.full.finetune { precrop = 40, crop = 36 }
                bitactors.upstream.steps = 5
                """);
            var config = BitActorsConfig.Load(file, null, NoEnvironment);
            Assert.Equal("DEBUG", config.GetString("akka.loglevel"));
            Assert.Equal(32, config.GetInt("bitactors.demo.study-norm.finetune.batch-size"));
            Assert.Equal(5, BitActorsConfig.Upstream(config).Schedule.Steps);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void VariableNamesMapToKeys()
    {
        Assert.Equal("bitactors.upstream.batch-size", BitActorsConfig.KeyOfVariable("BITACTORS__UPSTREAM__BATCH_SIZE"));
        Assert.Equal("bitactors.finetune.max-concurrent-tasks", BitActorsConfig.KeyOfVariable("BITACTORS__FINETUNE__MAX_CONCURRENT_TASKS"));
        Assert.Equal("bitactors.kafka.bootstrap-servers", BitActorsConfig.KeyOfVariable("BITACTORS__KAFKA__BOOTSTRAP_SERVERS"));
    }
}
