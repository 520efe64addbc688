using Akka.Actor;
using Akka.Event;
using Akka.Cluster.Tools.Singleton;
using BitActors.Model.Training;
using BitActors.Streams.Kafka;

namespace BitActors.Actors.Cluster;

/// <summary>
/// Starts a node's actors: on <c>coordinator</c> nodes the <see cref="FineTuneCoordinator"/> as a cluster singleton
/// (it lives on the oldest coordinator and moves when that node goes), on every node a proxy to it, and on
/// <c>trainer</c> nodes one <see cref="DeviceSlot"/> per configured device, each pulling tasks through the proxy.
/// The node's system comes from <see cref="Hosting.BitActorsHost.StartNode"/>.
/// </summary>
public static class ClusterNode
{
    public const string CoordinatorName = "coordinator";

    public static void Start(ActorSystem system, ClusterSettings cluster, ClusterJob? job, KafkaEndpoint kafka, FineTuneSettings fineTune, ArtifactStore store,
        UpstreamSettings? upstream = null)
    {
        if (cluster.Has(ClusterSettings.CoordinatorRole))
            system.ActorOf(ClusterSingletonManager.Props(
                job is null ? Akka.Actor.Props.Create(() => new IdleCoordinator()) : FineTuneCoordinator.Props(job, kafka, store),
                PoisonPill.Instance, ClusterSingletonManagerSettings.Create(system).WithRole(ClusterSettings.CoordinatorRole)), CoordinatorName);
        var proxy = system.ActorOf(ClusterSingletonProxy.Props($"/user/{CoordinatorName}",
            ClusterSingletonProxySettings.Create(system).WithRole(ClusterSettings.CoordinatorRole).WithBufferSize(1000)), $"{CoordinatorName}-proxy");
        if (!cluster.Has(ClusterSettings.TrainerRole)) return;
        var node = $"{cluster.PublicHostnameOrHost}:{Akka.Cluster.Cluster.Get(system).SelfAddress.Port}";
        var settings = new TrainerNodeSettings(node, kafka, fineTune, store, cluster.CheckpointEvery, cluster.RequestInterval, upstream, cluster.MaximumFrameSize);
        // auto becomes cuda or cpu here, once per node: the coordinator and the logs see the device a task runs on.
        var devices = cluster.Devices.Select(d => Devices.Resolve(d, m => system.Log.Info(m))).ToList();
        // Each slot restarted a bounded number of times (bitactors.supervision.max-restarts), then given up, not looped.
        var budget = Hosting.BitActorsConfig.MaxRestarts(system.Settings.Config);
        for (int i = 0; i < devices.Count; i++)
            system.ActorOf(Hosting.BoundedSupervisor.Props(DeviceSlot.Props(proxy, devices[i], settings), "slot", budget), $"device-{i}-{devices[i].Replace(':', '-')}");
    }

    /// <summary>A coordinator without a configured job: free devices stay idle.</summary>
    private sealed class IdleCoordinator : ReceiveActor
    {
        public IdleCoordinator()
        {
            Context.GetLogger().Info("coordinator: no job configured (bitactors.cluster.job: no backbone, no upstream); trainers stay idle");
            ReceiveAny(_ => { });
        }
    }
}
