using Xunit.Abstractions;
using BitActors.Streams.Tests;

namespace BitActors.Cli.Tests;

/// <summary>
/// `node --discovery config` as users run it: the embedded broker and two node processes on loopback that know only
/// each other's management endpoints (Akka.Discovery's config method), no seed nodes. The node with the lower
/// management port forms the cluster, the other joins it, and both are Up members.
/// </summary>
public sealed class ClusterDiscoveryTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    [Fact]
    [Trait("Category", "EndToEnd")]
    public async Task TwoNodesWithConfigDiscoveryFormOneClusterWithoutSeedNodes()
    {
        var dir = Directory.CreateTempSubdirectory("bitactors-discovery").FullName;
        var processes = new List<CliProcess>();
        try
        {
            var broker = new CliProcess("kafka", "up");
            processes.Add(broker);
            var bootstrap = (await broker.WaitForLineAsync("bootstrap=", Timeout))["bootstrap=".Length..];
            var ports = FreePorts.Take(2);
            var config = Path.Combine(dir, "node.conf");
            File.WriteAllText(config, $$"""
                bitactors.cluster {
                  discovery = config
                  seed-nodes = []
                  artifacts = "{{new Uri(Path.Combine(dir, "store")).AbsoluteUri}}"
                  bootstrap { stable-margin = 1s, endpoints = ["127.0.0.1:{{ports[0]}}", "127.0.0.1:{{ports[1]}}"] }
                }
                """);
            CliProcess Node(string roles, int managementPort)
            {
                var node = new CliProcess("node", "--roles", roles, "--config", config, "--port", "0", "--management-port", managementPort.ToString(),
                    "--bootstrap-servers", bootstrap);
                processes.Add(node);
                return node;
            }
            var trainer = Node("trainer", ports[1]); // the higher management port: it waits for the other to form the cluster
            var coordinator = Node("coordinator", ports[0]);
            const string prefix = "node=";
            var trainerAddress = (await trainer.WaitForLineAsync(prefix, Timeout))[prefix.Length..];
            var coordinatorAddress = (await coordinator.WaitForLineAsync(prefix, Timeout))[prefix.Length..];

            await coordinator.WaitForStderrAsync($"node {coordinatorAddress} is up with roles coordinator", Timeout);
            await trainer.WaitForStderrAsync($"node {trainerAddress} is up with roles trainer", Timeout);
            // The coordinator formed the cluster: it was its only Up member, the leader, when both members were moved to Up.
            await coordinator.WaitForStderrAsync($"Leader is moving node [{trainerAddress}] to [Up]", Timeout);
            Assert.Contains($"Leader is moving node [{coordinatorAddress}] to [Up]", coordinator.Stderr);
            foreach (var node in new[] { coordinator, trainer })
            {
                Assert.Contains("cluster bootstrap: discovery config, service bitactors", node.Stderr);
                Assert.Contains("discovery config, artifacts", node.Stderr);
                Assert.DoesNotContain("seed nodes akka.tcp", node.Stderr);
            }
        }
        catch
        {
            foreach (var p in processes) output.WriteLine($"--- process {p.Id} stderr:\n{p.Stderr}");
            throw;
        }
        finally
        {
            foreach (var p in processes) p.Dispose();
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("--discovery dns", "bitactors.cluster.discovery must be one of seed-nodes, config, kubernetes, not 'dns'")]
    [InlineData("--discovery config", "bitactors.cluster.bootstrap.endpoints is empty")]
    [InlineData("--discovery kubernetes --management-port 0", "--management-port must be 1-65535, not 0")]
    public async Task ABadDiscoveryIsRefusedBeforeAnythingStartsNamingWhatIsWrong(string options, string message)
    {
        var (code, stdout, stderr) = await CliProcess.RunAsync(Timeout, ["node", .. options.Split(' ')]);
        Assert.NotEqual(0, code);
        Assert.Contains(message, stdout + stderr);
    }
}
