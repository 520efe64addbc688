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

    [Theory]
    [InlineData("bitactors.cluster.roles = [coordinator, gpu]", "unknown cluster role 'gpu'")]
    [InlineData("bitactors.cluster.seed-nodes = []", "bitactors.cluster.seed-nodes is empty")]
    [InlineData("bitactors.cluster.seed-nodes = [\"akka.tcp://other@h:1\"]", "'akka.tcp://other@h:1' is not an address of this system")]
    [InlineData("bitactors.cluster.split-brain-resolver.active-strategy = keep-everything", "active-strategy must be one of")]
    [InlineData("bitactors.cluster.trainer.devices = [\"tpu\"]", "'tpu' is not cpu, cuda or cuda:N")]
    public void BadSettingsAreRefusedNamingWhatIsWrong(string hocon, string message)
    {
        var e = Assert.Throws<InvalidDataException>(() => With(hocon));
        Assert.Contains(message, e.Message);
    }
}
