using Akka.Configuration;
using BitActors.Actors.Cluster;
using BitActors.Actors.Hosting;

namespace BitActors.Actors.Tests.Cluster;

public class ClusterSettingsTests
{
    private static ClusterSettings With(string hocon) =>
        ClusterSettings.From(ConfigurationFactory.ParseString(hocon).WithFallback(BitActorsConfig.Reference()));

    [Fact]
    public void TheReferenceNodeIsAClusterMemberWithASplitBrainResolverAndBothRoles()
    {
        var settings = With("");
        var akka = settings.AkkaConfig().WithFallback(BitActorsConfig.Reference());
        Assert.Equal("cluster", akka.GetString("akka.actor.provider"));
        Assert.Equal(["coordinator", "trainer"], akka.GetStringList("akka.cluster.roles"));
        Assert.Equal(["akka.tcp://bitactors@127.0.0.1:4053"], akka.GetStringList("akka.cluster.seed-nodes"));
        Assert.Equal("Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster", akka.GetString("akka.cluster.downing-provider-class"));
        Assert.Equal("keep-majority", akka.GetString("akka.cluster.split-brain-resolver.active-strategy"));
        Assert.Equal(TimeSpan.FromSeconds(20), akka.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
        Assert.Equal(4053, akka.GetInt("akka.remote.dot-netty.tcp.port"));
        Assert.Equal(["cpu"], settings.Devices);
    }

    [Fact]
    public void CommandLineRolesAndSeedsReplaceTheConfiguredOnes()
    {
        var settings = With("").WithRoles("trainer").WithSeedNodes("akka.tcp://bitactors@10.0.0.1:4053, akka.tcp://bitactors@10.0.0.2:4053");
        var akka = settings.AkkaConfig();
        Assert.Equal(["trainer"], akka.GetStringList("akka.cluster.roles"));
        Assert.Equal(2, akka.GetStringList("akka.cluster.seed-nodes").Count);
        Assert.True(settings.Has(ClusterSettings.TrainerRole));
        Assert.False(settings.Has(ClusterSettings.CoordinatorRole));
    }

    [Fact]
    public void TheReferenceNodeJoinsThroughItsSeedNodesWithoutAkkaManagement()
    {
        var settings = With("");
        Assert.Equal(ClusterDiscovery.SeedNodes, settings.Discovery.Method);
        Assert.False(settings.AkkaConfig().HasPath("akka.management"));
        Assert.False(settings.AkkaConfig().HasPath("akka.discovery"));
    }

    [Fact]
    public void ConfigDiscoveryBootstrapsFromTheListedManagementEndpointsInsteadOfSeedNodes()
    {
        var settings = With("""
            bitactors.cluster {
              hostname = "0.0.0.0", public-hostname = "10.0.0.5", seed-nodes = []
              discovery = config
              bootstrap { required-contact-points = 3, stable-margin = 2s, management.port = 8600,
                endpoints = ["10.0.0.5:8600", "10.0.0.6:8600", "10.0.0.7:8600"] }
            }
            """);
        var akka = settings.AkkaConfig().WithFallback(BitActorsConfig.Reference());
        Assert.Empty(akka.GetStringList("akka.cluster.seed-nodes"));
        Assert.Equal("config", akka.GetString("akka.discovery.method"));
        Assert.Equal(["10.0.0.5:8600", "10.0.0.6:8600", "10.0.0.7:8600"], akka.GetStringList("akka.discovery.config.services.bitactors.endpoints"));
        Assert.Equal("10.0.0.5", akka.GetString("akka.management.http.hostname")); // advertised: the address the others list
        Assert.Equal("0.0.0.0", akka.GetString("akka.management.http.bind-hostname"));
        Assert.Equal(8600, akka.GetInt("akka.management.http.port"));
        var discovery = akka.GetConfig("akka.management.cluster.bootstrap.contact-point-discovery");
        Assert.Equal("bitactors", discovery.GetString("service-name"));
        Assert.Equal(3, discovery.GetInt("required-contact-point-nr"));
        Assert.Equal(TimeSpan.FromSeconds(2), discovery.GetTimeSpan("stable-margin"));
        Assert.Equal("", discovery.GetString("port-name"));
    }

    [Fact]
    public void KubernetesDiscoveryListsThePodsOfTheLabelSelectorAtTheirManagementPort()
    {
        var settings = With("""
            bitactors.cluster { discovery = kubernetes, bootstrap.kubernetes { namespace = ml, label-selector = "app=bitactors,tier=gpu" } }
            """);
        var akka = settings.AkkaConfig().WithFallback(BitActorsConfig.Reference());
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
    public void CommandLineDiscoveryAndManagementPortReplaceTheConfiguredOnes()
    {
        var settings = With("bitactors.cluster.bootstrap.endpoints = [\"127.0.0.1:9001\", \"127.0.0.1:9002\"]").WithDiscovery("config").WithManagementPort(9002);
        Assert.Equal(ClusterDiscovery.Config, settings.Discovery.Method);
        Assert.Equal(9002, settings.AkkaConfig().GetInt("akka.management.http.port"));
        var e = Assert.Throws<InvalidDataException>(() => With("").WithDiscovery("config"));
        Assert.Contains("bitactors.cluster.bootstrap.endpoints is empty", e.Message);
    }

    [Theory]
    [InlineData("bitactors.cluster.roles = [coordinator, gpu]", "unknown cluster role 'gpu'")]
    [InlineData("bitactors.cluster.seed-nodes = []", "bitactors.cluster.seed-nodes is empty")]
    [InlineData("bitactors.cluster.seed-nodes = [\"akka.tcp://other@h:1\"]", "'akka.tcp://other@h:1' is not an address of this system")]
    [InlineData("bitactors.cluster.split-brain-resolver.active-strategy = keep-everything", "active-strategy must be one of")]
    [InlineData("bitactors.cluster.trainer.devices = [\"tpu\"]", "'tpu' is not cpu, cuda or cuda:N")]
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
