using System.Diagnostics;
using Akka.Configuration;
using BitActors.Actors.Cluster;
using BitActors.Actors.Hosting;
using Xunit.Abstractions;

namespace BitActors.Cli.Tests;

/// <summary>The deployment files in infra/ are valid: the compose file as docker compose reads it, the node configurations as nodes read them.</summary>
public class InfraTests(ITestOutputHelper output)
{
    private static readonly string Root = FindRoot();

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "BitActors.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException($"no BitActors.sln above {AppContext.BaseDirectory}");
    }

    [Fact]
    public async Task TheComposeFileIsValidForDockerCompose()
    {
        var compose = new[] { "/usr/bin/docker-compose", "/usr/local/bin/docker-compose" }.FirstOrDefault(File.Exists);
        if (compose is null)
        {
            Assert.False(Environment.UserName == "root", "docker-compose is missing: ./run-tests and .ci/run install the Debian package docker-compose");
            output.WriteLine("SKIPPED: docker-compose is not installed (sudo apt-get install docker-compose) and this user cannot install it");
            return;
        }
        var psi = new ProcessStartInfo(compose, ["-f", Path.Combine(Root, "infra", "docker-compose.yml"), "config", "-q"])
            { RedirectStandardError = true, RedirectStandardOutput = true };
        using var process = Process.Start(psi)!;
        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, errors);
    }

    [Fact]
    public void TheComposeNodeConfigurationGivesAClusterOfThePublishedServices()
    {
        var config = ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(Root, "infra", "cluster.conf"))).WithFallback(BitActorsConfig.Reference());
        var cluster = ClusterSettings.From(config).WithRoles("trainer");
        Assert.Equal("0.0.0.0", cluster.Hostname); // binds every interface; `node` advertises $BITACTORS_PUBLIC_HOSTNAME
        Assert.Equal(4053, cluster.Port);
        Assert.Equal(["akka.tcp://bitactors@coordinator:4053"], cluster.SeedNodes);
        Assert.Equal(["cuda"], cluster.Devices);
        Assert.Equal("kafka-1:9092,kafka-2:9092,kafka-3:9092", config.GetString("bitactors.kafka.bootstrap-servers"));
        Assert.Equal("/artifacts", ArtifactStore.At(config.GetString("bitactors.cluster.artifacts")).Root);
    }

    [Fact]
    public void TheKubernetesConfigMapIsAValidNodeConfiguration()
    {
        var yaml = File.ReadAllLines(Path.Combine(Root, "infra", "k8s", "bitactors.yaml"));
        var start = Array.FindIndex(yaml, l => l.Trim() == "cluster.conf: |") + 1;
        var hocon = string.Join('\n', yaml.Skip(start).TakeWhile(l => l.StartsWith("    ", StringComparison.Ordinal) || l.Length == 0));
        var config = ConfigurationFactory.ParseString(hocon).WithFallback(BitActorsConfig.Reference());
        var cluster = ClusterSettings.From(config);
        Assert.Equal(2, cluster.SeedNodes.Count);
        Assert.Equal("R50x1", config.GetString("bitactors.cluster.job.arch"));
        Assert.Equal([1, 5, 10], config.GetIntList("bitactors.cluster.job.shots"));
    }
}
