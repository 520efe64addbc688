using System.Diagnostics;
using System.Text.Json;
using BitActors.Streams.Tests;

namespace BitActors.Cli.Tests;

public class CommandLineTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Fact]
    [Trait("Category", "EndToEnd")]
    public async Task KafkaUpServesAPublishAndAModelsWatchFromOtherProcessesAndStopsOnSigterm()
    {
        var source = TestData.WriteIdx(train: 120, test: 40);
        try
        {
            using var broker = new CliProcess("kafka", "up");
            var bootstrap = (await broker.WaitForLineAsync("bootstrap=", Timeout))["bootstrap=".Length..];
            Assert.Matches(@"^127\.0\.0\.1:\d+$", bootstrap);

            var publish = await CliProcess.RunAsync(Timeout, "publish", "--dataset", "cli-test", "--format", "idx", "--source", source.FullName, "--bootstrap-servers", bootstrap);
            Assert.True(publish.ExitCode == 0, publish.Stderr);
            Assert.Contains("bit.data.cli-test.train", publish.Stdout);
            Assert.Contains("120", publish.Stdout);

            // kcat, an independent client, sees every test record on the broker the other process serves.
            var kcat = Process.Start(new ProcessStartInfo("kcat", $"-C -b {bootstrap} -t bit.data.cli-test.test -e -q -f %k\\n") { RedirectStandardOutput = true })!;
            var keys = (await kcat.StandardOutput.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            await kcat.WaitForExitAsync();
            Assert.Equal(40, keys.Length);

            // A model event produced now is followed by `models watch --json` in another process.
            await new BitActors.Streams.Kafka.KafkaTopicAdmin(new BitActors.Streams.Kafka.KafkaEndpoint(bootstrap)).EnsureTopicAsync(new BitActors.Streams.Kafka.TopicSpec("bit.models", 1));
            using (var producer = BitActors.Streams.Kafka.KafkaClients.CreateProducer(new BitActors.Streams.Kafka.KafkaEndpoint(bootstrap)))
                await producer.ProduceAsync("bit.models", BitActors.Streams.Kafka.CloudEvents.ToMessage("id-1", "test", "bit.finetune.completed", "run/task",
                    DateTimeOffset.UtcNow, new { metrics = new { top1 = 0.5 } }, new JsonSerializerOptions()));
            var watch = await CliProcess.RunAsync(Timeout, "models", "watch", "--json", "--max", "1", "--bootstrap-servers", bootstrap);
            Assert.True(watch.ExitCode == 0, watch.Stderr);
            using (var line = JsonDocument.Parse(watch.Stdout.Trim()))
            {
                Assert.Equal("bit.finetune.completed", line.RootElement.GetProperty("type").GetString());
                Assert.Equal("id-1", line.RootElement.GetProperty("id").GetString());
                Assert.Equal(0.5, line.RootElement.GetProperty("data").GetProperty("metrics").GetProperty("top1").GetDouble());
            }

            Process.Start("kill", $"-TERM {broker.Id}")!.WaitForExit();
            Assert.Equal(0, await broker.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }
        finally { source.Delete(true); }
    }

    [Fact]
    public async Task ModelInfoJsonGivesTheReferenceParameterCount()
    {
        var (code, stdout, stderr) = await CliProcess.RunAsync(Timeout, "model", "info", "--arch", "R50x1", "--classes", "1000", "--json");
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal("R50x1", json.RootElement.GetProperty("arch").GetString());
        Assert.Equal(1000, json.RootElement.GetProperty("classes").GetInt32());
        Assert.Equal(25_549_352, json.RootElement.GetProperty("parameters").GetInt64());
    }

    [Fact]
    public async Task HyperRuleJsonFollowsTheRuleForSmallImages()
    {
        var (code, stdout, stderr) = await CliProcess.RunAsync(Timeout, "hyperrule", "--examples", "50000", "--image-size", "28x28", "--json");
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal(160, json.RootElement.GetProperty("precrop").GetInt32());
        Assert.Equal(128, json.RootElement.GetProperty("crop").GetInt32());
        Assert.Equal(0.1, json.RootElement.GetProperty("mixup").GetDouble());
        Assert.Equal([500, 3000, 6000, 9000, 10000], json.RootElement.GetProperty("supports").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public async Task PublishingToAnUnreachableBrokerFailsWithItsAddress()
    {
        var source = TestData.WriteIdx(train: 10, test: 10);
        try
        {
            var (code, _, stderr) = await CliProcess.RunAsync(Timeout, "publish", "--dataset", "x", "--format", "idx", "--source", source.FullName, "--bootstrap-servers", "127.0.0.1:1");
            Assert.NotEqual(0, code);
            Assert.Contains("127.0.0.1:1", stderr);
            Assert.Contains("unreachable", stderr);
            // librdkafka's own lines ("%3|…|FAIL|…") go to the log at Debug level, not raw to stderr.
            Assert.DoesNotContain("|FAIL|", stderr);
        }
        finally { source.Delete(true); }
    }
}
