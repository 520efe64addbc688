using Akka.Actor;
using Akka.Cluster.SBR;
using Akka.Configuration;
using BitActors.Actors.Cluster;
using BitActors.Actors.Hosting;
using BitActors.Streams.Tests;
using AkkaCluster = Akka.Cluster.Cluster;

namespace BitActors.Actors.Tests.Cluster;

/// <summary>
/// <c>bitactors.cluster</c> read and checked, and wired into a node's actor system (<see cref="BitActorsHost.StartNode"/>):
/// the tests start nodes that join nothing (seed nodes on loopback, or discovery, which starts only with the bootstrap).
/// </summary>
public class ClusterSettingsTests
{
    private static ClusterSettings With(string hocon) => ClusterSettings.From(Layered(hocon));

    private static Config Layered(string hocon) => ConfigurationFactory.ParseString(hocon).WithFallback(BitActorsConfig.Reference());

    /// <summary>The configuration of a node started with <paramref name="settings"/> (port 0 or a free one: the tests run side by side).</summary>
    private static async Task<Config> WiredAsync(Config config, ClusterSettings settings, Action<ActorSystem>? check = null)
    {
        using var node = BitActorsHost.StartNode(config, settings);
        try
        {
            check?.Invoke(node.System);
            return node.System.Settings.Config;
        }
        finally { await node.StopAsync(); }
    }

    [Fact]
    public async Task TheReferenceNodeIsAClusterMemberWithASplitBrainResolverAndBothRoles()
    {
        var settings = With("");
        Assert.Equal(4053, settings.Port);
        Assert.Equal(["auto"], settings.Devices);
        var port = FreePorts.One();
        var akka = await WiredAsync(Layered(""), settings with { Port = port }, system =>
        {
            Assert.IsType<Akka.Cluster.ClusterActorRefProvider>(((ExtendedActorSystem)system).Provider);
            var cluster = AkkaCluster.Get(system);
            Assert.Equal("akka.tcp://bitactors@127.0.0.1:" + port, cluster.SelfAddress.ToString());
            Assert.Equal(["akka.tcp://bitactors@127.0.0.1:4053"], cluster.Settings.SeedNodes.Select(a => a.ToString()));
            Assert.Equal(typeof(SplitBrainResolverProvider), cluster.Settings.DowningProviderType);
        });
        Assert.Equal(["coordinator", "trainer"], akka.GetStringList("akka.cluster.roles"));
        Assert.Equal("keep-majority", akka.GetString("akka.cluster.split-brain-resolver.active-strategy"));
        Assert.Equal(TimeSpan.FromSeconds(20), akka.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
        Assert.Equal(port, akka.GetInt("akka.remote.dot-netty.tcp.port"));
        // Seed nodes: no Akka.Management.
        Assert.Equal(ClusterDiscovery.SeedNodes, settings.Discovery.Method);
        Assert.False(akka.HasPath("akka.management.http.routes.bitactors-health"));
        Assert.False(akka.HasPath("akka.discovery.config.services.bitactors"));
    }

    [Fact]
    public void CommandLineRolesAndSeedsReplaceTheConfiguredOnes()
    {
        var settings = With("").WithRoles("trainer").WithSeedNodes("akka.tcp://bitactors@10.0.0.1:4053, akka.tcp://bitactors@10.0.0.2:4053");
        Assert.Equal(["trainer"], settings.Roles);
        Assert.Equal(["akka.tcp://bitactors@10.0.0.1:4053", "akka.tcp://bitactors@10.0.0.2:4053"], settings.JoinSeedNodes);
        Assert.True(settings.Has(ClusterSettings.TrainerRole));
        Assert.False(settings.Has(ClusterSettings.CoordinatorRole));
    }

    [Theory]
    [InlineData("static-quorum")]
    [InlineData("keep-oldest")]
    [InlineData("keep-referee")]
    [InlineData("down-all")]
    public async Task EveryStrategyOfTheSplitBrainResolverIsWiredWithItsStableAfter(string strategy)
    {
        var hocon = $"bitactors.cluster {{ port = 0, split-brain-resolver {{ active-strategy = {strategy}, stable-after = 3s }} }}";
        var akka = await WiredAsync(Layered(hocon), With(hocon),
            system => Assert.Equal(typeof(SplitBrainResolverProvider), AkkaCluster.Get(system).Settings.DowningProviderType));
        Assert.Equal(strategy, akka.GetString("akka.cluster.split-brain-resolver.active-strategy"));
        Assert.Equal(TimeSpan.FromSeconds(3), akka.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
    }

    [Fact]
    public async Task ConfigDiscoveryBootstrapsFromTheListedManagementEndpointsInsteadOfSeedNodes()
    {
        const string hocon = """
            bitactors.cluster {
              hostname = "0.0.0.0", public-hostname = "10.0.0.5", port = 0
              discovery = config
              bootstrap { required-contact-points = 3, stable-margin = 2s, management.port = 8600,
                endpoints = ["10.0.0.5:8600", "10.0.0.6:8600", "10.0.0.7:8600"] }
            }
            """;
        // The configured seed nodes are left alone: the cluster bootstrap joins (nothing is contacted before it starts).
        var akka = await WiredAsync(Layered(hocon), With(hocon), system => Assert.Empty(AkkaCluster.Get(system).Settings.SeedNodes));
        Assert.Empty(akka.GetStringList("akka.cluster.seed-nodes"));
        Assert.Equal("config", akka.GetString("akka.discovery.method"));
        Assert.Equal(["10.0.0.5:8600", "10.0.0.6:8600", "10.0.0.7:8600"], akka.GetStringList("akka.discovery.config.services.bitactors.endpoints"));
        Assert.Equal("10.0.0.5", akka.GetString("akka.management.http.hostname")); // advertised: the address the others list
        Assert.Equal("0.0.0.0", akka.GetString("akka.management.http.bind-hostname"));
        Assert.Equal(8600, akka.GetInt("akka.management.http.port"));
        Assert.Equal("10.0.0.5", akka.GetString("akka.remote.dot-netty.tcp.public-hostname"));
        var discovery = akka.GetConfig("akka.management.cluster.bootstrap.contact-point-discovery");
        Assert.Equal("bitactors", discovery.GetString("service-name"));
        Assert.Equal(3, discovery.GetInt("required-contact-point-nr"));
        Assert.Equal(TimeSpan.FromSeconds(2), discovery.GetTimeSpan("stable-margin"));
        Assert.Equal("", discovery.GetString("port-name"));
    }

    [Fact]
    public async Task KubernetesDiscoveryListsThePodsOfTheLabelSelectorAtTheirManagementPort()
    {
        const string hocon = """
            bitactors.cluster { port = 0, discovery = kubernetes, bootstrap.kubernetes { namespace = ml, label-selector = "app=bitactors,tier=gpu" } }
            """;
        var akka = await WiredAsync(Layered(hocon), With(hocon));
        Assert.Empty(akka.GetStringList("akka.cluster.seed-nodes"));
        Assert.Equal(ClusterDiscovery.KubernetesMethodName, akka.GetString("akka.discovery.method"));
        var method = akka.GetConfig($"akka.discovery.{ClusterDiscovery.KubernetesMethodName}");
        Assert.Equal(typeof(KubernetesPodDiscovery), Type.GetType(method.GetString("class")));
        Assert.Equal("ml", method.GetString("namespace"));
        Assert.Equal("app=bitactors,tier=gpu", method.GetString("label-selector"));
        Assert.Equal("management", akka.GetString("akka.management.cluster.bootstrap.contact-point-discovery.port-name"));
        Assert.Equal(8558, akka.GetInt("akka.management.http.port"));
    }

    [Fact]
    public async Task CommandLineDiscoveryAndManagementPortReplaceTheConfiguredOnes()
    {
        const string hocon = "bitactors.cluster { port = 0, bootstrap.endpoints = [\"127.0.0.1:9001\", \"127.0.0.1:9002\"] }";
        var settings = With(hocon).WithDiscovery("config").WithManagementPort(9002);
        Assert.Equal(ClusterDiscovery.Config, settings.Discovery.Method);
        Assert.Equal(9002, (await WiredAsync(Layered(hocon), settings)).GetInt("akka.management.http.port"));
        var e = Assert.Throws<InvalidDataException>(() => With("").WithDiscovery("config"));
        Assert.Contains("bitactors.cluster.bootstrap.endpoints is empty", e.Message);
    }

    [Theory]
    [InlineData("bitactors.cluster.roles = [coordinator, gpu]", "unknown cluster role 'gpu'")]
    [InlineData("bitactors.cluster.seed-nodes = []", "bitactors.cluster.seed-nodes is empty")]
    [InlineData("bitactors.cluster.seed-nodes = [\"akka.tcp://other@h:1\"]", "'akka.tcp://other@h:1' is not an address of this system")]
    [InlineData("bitactors.cluster.split-brain-resolver.active-strategy = keep-everything", "active-strategy must be one of")]
    [InlineData("bitactors.cluster.trainer.devices = [\"tpu\"]", "'tpu' is not auto, cpu, cuda or cuda:N")]
    [InlineData("bitactors.cluster.discovery = dns", "bitactors.cluster.discovery must be one of seed-nodes, config, kubernetes, not 'dns'")]
    [InlineData("bitactors.cluster.discovery = config", "bitactors.cluster.bootstrap.endpoints is empty")]
    [InlineData("bitactors.cluster { discovery = config, bootstrap.endpoints = [\"10.0.0.1\"] }", "endpoints: '10.0.0.1' is not HOST:PORT")]
    [InlineData("bitactors.cluster { discovery = config, bootstrap.endpoints = [\"10.0.0.1:70000\"] }", "endpoints: '10.0.0.1:70000' is not HOST:PORT")]
    [InlineData("bitactors.cluster { discovery = config, bootstrap.endpoints = [\"a:1\"] }", "required-contact-points is 2 but endpoints lists only 1")]
    [InlineData("bitactors.cluster { discovery = kubernetes, bootstrap.required-contact-points = 0 }", "required-contact-points must be at least 1, not 0")]
    [InlineData("bitactors.cluster { discovery = kubernetes, bootstrap.management.port = 0 }", "bootstrap.management.port must be 1-65535, not 0")]
    [InlineData("bitactors.cluster { discovery = kubernetes, bootstrap.service-name = \"bit actors\" }", "service-name must be a DNS-style name")]
    [InlineData("bitactors.cluster { discovery = kubernetes, bootstrap.stable-margin = 0s }", "stable-margin must be positive")]
    [InlineData("bitactors.cluster { discovery = kubernetes, bootstrap.kubernetes.label-selector = \"\" }", "kubernetes.label-selector is empty")]
    [InlineData("bitactors.cluster { discovery = kubernetes, bootstrap.kubernetes.port-name = \"\" }", "kubernetes.port-name is empty")]
    public void BadSettingsAreRefusedNamingWhatIsWrong(string hocon, string message)
    {
        var e = Assert.Throws<InvalidDataException>(() => With(hocon));
        Assert.Contains(message, e.Message);
    }
}
