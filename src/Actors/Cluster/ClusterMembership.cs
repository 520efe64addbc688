using Akka.Actor;
using Akka.Event;
using Akka.Management.Cluster.Bootstrap;
using Akka.Management.Dsl;

namespace BitActors.Actors.Cluster;

/// <summary>
/// How a node becomes a member. With seed nodes Akka.Cluster joins them by itself (they are in the node's settings).
/// With discovery the node starts Akka.Management's HTTP endpoint (other nodes probe it for this node's view of the
/// cluster) and the cluster bootstrap, which discovers the contact points and joins or forms the cluster
/// (see <see cref="ClusterDiscovery"/> for the rule of who forms it).
/// </summary>
public static class ClusterMembership
{
    public static async Task JoinAsync(ActorSystem system, ClusterSettings cluster)
    {
        var discovery = cluster.Discovery;
        if (!discovery.UsesBootstrap) return;
        Uri? endpoint;
        try
        {
            endpoint = await AkkaManagement.Get(system).Start();
        }
        catch (Exception e)
        {
            throw new InvalidOperationException(
                $"could not start the management endpoint on {cluster.Hostname}:{discovery.ManagementPort} (bitactors.cluster.bootstrap.management.port): {e.GetBaseException().Message}", e);
        }
        await ClusterBootstrap.Get(system).Start();
        system.Log.Info("cluster bootstrap: discovery {0}, service {1}, management endpoint {2}, forming a new cluster needs {3} contact point(s){4}",
            discovery.Method, discovery.ServiceName, endpoint, discovery.RequiredContactPoints,
            discovery.Method == ClusterDiscovery.Config ? $" of {string.Join(" ", discovery.Endpoints)}" : $" with labels {discovery.KubernetesLabelSelector}");
    }
}
