using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Configuration;
using BitActors.Actors.Cluster;
using BitActors.Actors.Hosting;
using BitActors.Streams.Kafka;
using BitActors.Streams.Tests;
using AkkaCluster = Akka.Cluster.Cluster;
using MemberStatus = Akka.Cluster.MemberStatus;

namespace BitActors.Actors.Tests.Cluster;

/// <summary>
/// Remoting over TLS with the cluster's shared certificate (self-signed PKCS#12 files made here): nodes that hold it
/// form a cluster; a node with another certificate (even of the same name) or with none cannot join. In such a
/// cluster a device listens to the coordinator singleton on the oldest coordinator, and to nothing at that path elsewhere.
/// </summary>
public sealed class ClusterTrustTests : IDisposable
{
    private const string Password = "cluster-secret";
    private readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("bitactors-tls");
    private readonly List<BitActorsHost> nodes = new();

    public void Dispose()
    {
        Task.WhenAll(nodes.Select(n => n.StopAsync())).Wait(TimeSpan.FromSeconds(30));
        foreach (var node in nodes) node.Dispose();
        dir.Delete(recursive: true);
    }

    [Fact]
    public async Task NodesWithTheClusterCertificateFormAClusterAndANodeWithAnotherCertificateOrNoneCannotJoin()
    {
        var ports = FreePorts.Take(4);
        var certificate = Certificate("cluster.p12", "CN=bitactors-cluster");
        var stranger = Certificate("stranger.p12", "CN=bitactors-cluster"); // the same name, another key
        var seed = Node(ports[0], ports[0], certificate);
        var member = Node(ports[1], ports[0], certificate);
        await UntilAsync(() => UpMembers(seed) == 2 && UpMembers(member) == 2, TimeSpan.FromSeconds(20));

        var impostor = Node(ports[2], ports[0], stranger);
        var plain = Node(ports[3], ports[0], certificate: null);
        await Task.Delay(TimeSpan.FromSeconds(6)); // a join attempt every few seconds (seed-node-timeout 5 s): refused at the handshake each time
        Assert.Equal([ports[0], ports[1]], AkkaCluster.Get(seed.System).State.Members.Select(m => m.Address.Port!.Value).Order());
        Assert.All(new[] { impostor, plain }, n => Assert.NotEqual(MemberStatus.Up, AkkaCluster.Get(n.System).SelfMember.Status));
        Assert.All(new[] { impostor, plain }, n => Assert.Empty(AkkaCluster.Get(n.System).State.Members.Where(m => m.Address.Port == ports[0])));
    }

    [Fact]
    public async Task ADeviceTakesTheSingletonOnTheOldestCoordinatorForTheCoordinatorAndNothingElseAtThatPath()
    {
        var ports = FreePorts.Take(2);
        var certificate = Certificate("cluster.p12", "CN=bitactors-cluster");
        var oldest = Node(ports[0], ports[0], certificate);
        var younger = Node(ports[1], ports[0], certificate);
        await UntilAsync(() => UpMembers(oldest) == 2 && UpMembers(younger) == 2, TimeSpan.FromSeconds(20));
        var store = ArtifactStore.At(Path.Combine(dir.FullName, "store"));
        var settings = ClusterSettings.From(Config(ports[0], ports[0], certificate)).WithRoles("coordinator");
        foreach (var node in new[] { oldest, younger })
            ClusterNode.Start(node.System, settings, null, new KafkaEndpoint("127.0.0.1:1"), null!, store);

        var path = $"akka.ssl.tcp://bitactors@127.0.0.1:{ports[0]}/user/coordinator/singleton";
        IActorRef? singleton = null;
        await UntilAsync(() =>
        {
            try { singleton = younger.System.ActorSelection(path).ResolveOne(TimeSpan.FromSeconds(1)).Result; }
            catch (AggregateException) { }
            return singleton is not null;
        }, TimeSpan.FromSeconds(20));

        var coordinator = new CoordinatorSender(ActorRefs.Nobody, younger.System);
        Assert.True(coordinator.Sent(singleton!));
        var provider = ((ExtendedActorSystem)younger.System).Provider;
        Assert.False(coordinator.Sent(provider.ResolveActorRef($"akka.ssl.tcp://bitactors@127.0.0.1:{ports[1]}/user/coordinator/singleton"))); // a younger coordinator's
        Assert.False(coordinator.Sent(provider.ResolveActorRef($"akka.ssl.tcp://bitactors@127.0.0.1:{ports[0]}/user/coordinator-proxy"))); // another actor of the oldest
        Assert.False(coordinator.Sent(provider.ResolveActorRef("akka.ssl.tcp://bitactors@127.0.0.1:9/user/coordinator/singleton"))); // no member at all
    }

    [Fact]
    public void ACertificateThatCannotBeUsedIsRefusedNamingTheSettingAndSeedNodesTakeTheTlsScheme()
    {
        var certificate = Certificate("cluster.p12", "CN=bitactors-cluster");
        var settings = ClusterSettings.From(Config(4053, 4053, certificate));
        Assert.Equal(["akka.ssl.tcp://bitactors@127.0.0.1:4053"], settings.JoinSeedNodes); // written akka.tcp:// in the configuration
        Assert.DoesNotContain(Password, settings.ToString());
        using (var loaded = settings.Tls.Load()) Assert.True(loaded!.HasPrivateKey);
        Assert.Null(ClusterTls.None.Load());

        var missing = settings with { Tls = new ClusterTls(Path.Combine(dir.FullName, "none.p12"), Password) };
        Assert.Contains("bitactors.cluster.tls.certificate-path", Assert.Throws<InvalidDataException>(() => missing.Tls.Load()).Message);
        var wrongPassword = new ClusterTls(certificate, "not-the-password");
        Assert.Contains("bitactors.cluster.tls.certificate-password", Assert.Throws<InvalidDataException>(() => wrongPassword.Load()).Message);
        var publicOnly = Path.Combine(dir.FullName, "public.p12");
        using (var full = X509CertificateLoader.LoadPkcs12FromFile(certificate, Password))
        using (var withoutKey = X509CertificateLoader.LoadCertificate(full.RawData))
            File.WriteAllBytes(publicOnly, withoutKey.Export(X509ContentType.Pkcs12, Password));
        Assert.Contains("no private key", Assert.Throws<InvalidDataException>(() => new ClusterTls(publicOnly, Password).Load()).Message);
    }

    /// <summary>A self-signed certificate with its private key, as a password-protected PKCS#12 file.</summary>
    private string Certificate(string file, string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var path = Path.Combine(dir.FullName, file);
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12, Password));
        return path;
    }

    private static Config Config(int port, int seedPort, string? certificate) => ConfigurationFactory.ParseString($$"""
        bitactors.cluster {
          port = {{port}}
          seed-nodes = ["akka.tcp://bitactors@127.0.0.1:{{seedPort}}"]
          roles = [coordinator]
          tls { certificate-path = "{{certificate}}", certificate-password = "{{Password}}" }
        }
        """).WithFallback(BitActorsConfig.Reference());

    private BitActorsHost Node(int port, int seedPort, string? certificate)
    {
        var config = Config(port, seedPort, certificate);
        var node = BitActorsHost.StartNode(config, ClusterSettings.From(config));
        nodes.Add(node);
        return node;
    }

    private static int UpMembers(BitActorsHost node) => AkkaCluster.Get(node.System).State.Members.Count(m => m.Status == MemberStatus.Up);

    private static async Task UntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not within {timeout.TotalSeconds} s");
            await Task.Delay(200);
        }
    }
}
