using System.Net;
using Akka.Actor;
using Akka.Configuration;
using BitActors.Actors.Cluster;
using BitActors.Actors.Hosting;
using AkkaCluster = Akka.Cluster.Cluster;
using MemberStatus = Akka.Cluster.MemberStatus;
using BitActors.Streams.Tests;

namespace BitActors.Actors.Tests.Cluster;

/// <summary>
/// Two nodes on loopback form a cluster through Akka.Management's cluster bootstrap with Akka.Discovery's config method
/// (each other's management endpoints), with no seed nodes: the one with the lower management port forms it, the
/// other joins, and both see two members Up. Their management endpoints answer the health routes Kubernetes probes.
/// </summary>
public class ClusterBootstrapTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task TwoNodesFindEachOtherThroughConfigDiscoveryAndAreBothUp()
    {
        var ports = FreePorts.Take(2);
        var nodes = new List<BitActorsHost>();
        using var http = new HttpClient();
        try
        {
            foreach (var port in ports.Reverse()) // the node that must form the cluster starts last
            {
                var config = ConfigurationFactory.ParseString($$"""
                    bitactors.cluster {
                      port = 0
                      discovery = config
                      seed-nodes = []
                      bootstrap { stable-margin = 1s, management.port = {{port}}, endpoints = ["127.0.0.1:{{ports[0]}}", "127.0.0.1:{{ports[1]}}"] }
                    }
                    """).WithFallback(BitActorsConfig.Reference());
                var cluster = ClusterSettings.From(config);
                var node = BitActorsHost.StartNode(config, cluster);
                nodes.Add(node);
                var system = node.System;
                Assert.Empty(AkkaCluster.Get(system).Settings.SeedNodes);
                await ClusterMembership.JoinAsync(system, cluster);
                // Alone, the first node cannot form the cluster (two contact points are required): alive, not ready.
                if (nodes.Count == 1)
                {
                    Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://127.0.0.1:{port}/alive")).StatusCode);
                    Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync($"http://127.0.0.1:{port}/ready")).StatusCode);
                }
            }

            var systems = nodes.Select(n => n.System).ToList();
            var deadline = DateTime.UtcNow + Timeout;
            while (DateTime.UtcNow < deadline && !systems.All(s => UpMembers(s) == 2)) await Task.Delay(200);
            Assert.All(systems, s => Assert.Equal(2, UpMembers(s)));
            foreach (var port in ports)
            {
                var ready = await http.GetAsync($"http://127.0.0.1:{port}/ready");
                Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
                Assert.Equal("member Up", (await ready.Content.ReadAsStringAsync()).Trim());
            }

            // The oldest member (the one that formed the cluster) is the node with the lowest management endpoint.
            var former = systems[1];
            var oldest = AkkaCluster.Get(former).State.Members.Aggregate((a, b) => a.IsOlderThan(b) ? a : b);
            Assert.Equal(AkkaCluster.Get(former).SelfAddress, oldest.Address);
        }
        finally
        {
            await Task.WhenAll(nodes.Select(n => n.StopAsync()));
            foreach (var node in nodes) node.Dispose();
        }
    }

    private static int UpMembers(ActorSystem system) => AkkaCluster.Get(system).State.Members.Count(m => m.Status == MemberStatus.Up);
}
