using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using BitActors.Streams.Tests;

namespace BitActors.Cli.Tests;

[Collection(SignalTestsCollection.Name)]
public class MetricsEndpointTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Fact]
    [Trait("Category", "EndToEnd")]
    public async Task ARunWithAMetricsPortServesPrometheusSeriesThatMoveWhileItTrains()
    {
        var source = TestData.WriteIdx(train: 200, test: 20, size: 16);
        var work = Directory.CreateTempSubdirectory("bitactors-metrics");
        try
        {
            using var broker = new CliProcess("kafka", "up");
            var bootstrap = (await broker.WaitForLineAsync("bootstrap=", Timeout))["bootstrap=".Length..];
            var publish = await CliProcess.RunAsync(Timeout, "publish", "--dataset", "metricstest", "--format", "idx", "--source", source.FullName, "--bootstrap-servers", bootstrap);
            Assert.True(publish.ExitCode == 0, publish.Stderr);
            var config = Path.Combine(work.FullName, "run.conf");
            File.WriteAllText(config, """
                bitactors.upstream { dataset = metricstest, classes = [0, 1, 2, 3, 4], arch = Tiny, channels = 1, batch-size = 8, steps = 100000, precrop = 16, crop = 16,
                  shuffle-buffer = 16, decode-parallelism = 1, progress-every = 1 }
                """);
            var port = FreePorts.One();

            using var run = new CliProcess("run", "--bootstrap-servers", bootstrap, "--dataset", "metricstest", "--config", config, "--output", work.FullName,
                "--metrics-port", port.ToString());
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            var url = $"http://127.0.0.1:{port}/metrics";
            await run.WaitForStderrAsync("[upstream] step 3/100000", Timeout);
            var first = await http.GetStringAsync(url);
            await run.WaitForStderrAsync("[upstream] step 30/100000", Timeout);
            var second = await http.GetStringAsync(url);
            Process.Start("kill", $"-TERM {run.Id}")!.WaitForExit();
            await run.WaitForExitAsync(Timeout);

            double Steps(string scrape) => Value(scrape, "bitactors_train_steps_total", "upstream");
            Assert.True(Steps(first) >= 3, first);
            Assert.True(Steps(second) >= 30 && Steps(second) > Steps(first), $"steps {Steps(first)} then {Steps(second)}");
            Assert.True(Value(second, "bitactors_train_learning_rate", "upstream") > 0, second);
            Assert.True(Value(second, "bitactors_train_images_per_second", "upstream") > 0, second);
            Assert.True(Value(second, "bitactors_train_steps_per_second", "upstream") > 0, second);
            Assert.True(double.IsFinite(Value(second, "bitactors_train_loss", "upstream")), second);
            Assert.True(Value(second, "bitactors_train_data_wait_seconds", "upstream") >= 0, second);
            Assert.True(Value(second, "bitactors_device_memory_bytes") > 10_000_000, second);
            Assert.True(Value(second, "bitactors_kafka_consumer_lag", "bit.data.metricstest.train") >= 0, second);
            foreach (var series in new[] { "bitactors_tasks_queued", "bitactors_tasks_running", "bitactors_tasks_completed_total", "bitactors_tasks_failed_total",
                         "bitactors_events_published_total", "bitactors_events_dead_lettered_total" })
                Assert.Matches(new Regex($"^{series}(\\{{[^}}]*\\}})? ", RegexOptions.Multiline), second);
        }
        finally
        {
            source.Delete(true);
            work.Delete(true);
        }
    }

    [Fact]
    [Trait("Category", "EndToEnd")]
    public async Task ANodeServesItsSeriesOnItsMetricsPortWhileItIsAMember()
    {
        var dir = Directory.CreateTempSubdirectory("bitactors-node-metrics");
        try
        {
            using var broker = new CliProcess("kafka", "up");
            var bootstrap = (await broker.WaitForLineAsync("bootstrap=", Timeout))["bootstrap=".Length..];
            var ports = FreePorts.Take(2);
            var (port, metricsPort) = (ports[0], ports[1]);
            var config = Path.Combine(dir.FullName, "node.conf");
            File.WriteAllText(config, $$"""
                bitactors.cluster.artifacts = "{{new Uri(Path.Combine(dir.FullName, "store")).AbsoluteUri}}"
                """);
            using var node = new CliProcess("node", "--roles", "trainer", "--config", config, "--port", port.ToString(),
                "--seed-nodes", $"akka.tcp://bitactors@127.0.0.1:{port}", "--bootstrap-servers", bootstrap, "--metrics-port", metricsPort.ToString());
            await node.WaitForStderrAsync("is up with roles trainer", Timeout);

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            var scrape = await http.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics");
            Process.Start("kill", $"-TERM {node.Id}")!.WaitForExit();
            await node.WaitForExitAsync(Timeout);

            Assert.True(Value(scrape, "bitactors_device_memory_bytes") > 10_000_000, scrape);
            foreach (var series in new[] { "bitactors_tasks_queued", "bitactors_tasks_running", "bitactors_tasks_completed_total", "bitactors_tasks_failed_total",
                         "bitactors_events_published_total", "bitactors_events_dead_lettered_total" })
                Assert.Equal(0, Value(scrape, series));
            Assert.Contains($"metrics at http://127.0.0.1:{metricsPort}/metrics", node.Stderr);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public async Task AMetricsPortAlreadyInUseEndsTheRunAtOnceNamingThePort()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var watch = Stopwatch.StartNew();

        var (code, stdout, stderr) = await CliProcess.RunAsync(Timeout, "run", "--bootstrap-servers", "127.0.0.1:1", "--dataset", "nothing", "--metrics-port", port.ToString());

        Assert.NotEqual(0, code);
        Assert.Contains($"metrics port {port}", stdout + stderr);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task AMetricsPortOutOfRangeIsRefusedByName()
    {
        var (code, stdout, stderr) = await CliProcess.RunAsync(Timeout, "demo", "--metrics-port", "70000");

        Assert.NotEqual(0, code);
        Assert.Contains("--metrics-port must be 1-65535", stdout + stderr);
    }

    /// <summary>The value of the sample of <paramref name="name"/> whose labels contain <paramref name="label"/> (any, when null).</summary>
    private static double Value(string scrape, string name, string? label = null)
    {
        var sample = scrape.Split('\n').FirstOrDefault(l => Regex.IsMatch(l, $"^{name}[{{ ]") && (label is null || l.Contains($"\"{label}\"")))
            ?? throw new Xunit.Sdk.XunitException($"no {name}{(label is null ? "" : $" for {label}")} in:\n{scrape}");
        var fields = sample[(sample.LastIndexOf('}') + 1)..].Trim().Split(' ');
        return double.Parse(fields[0], CultureInfo.InvariantCulture);
    }
}
