using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Tools.Singleton;

namespace BitActors.Actors.Cluster;

/// <summary>
/// Whether a message to a device comes from the coordinator: the actor the device was given (in one process, or a
/// test's probe), or, through the singleton proxy, the singleton itself: an actor at the singleton's path on the oldest
/// member with the <c>coordinator</c> role (where <see cref="ClusterSingletonManager"/> runs it). Remoting does not
/// authenticate senders, so this stops a stray or stale peer, not one that forges its sender's path: TLS with the
/// cluster's certificate (<c>bitactors.cluster.tls</c>) decides who may connect at all.
/// </summary>
public sealed class CoordinatorSender
{
    private readonly IActorRef _coordinator;
    private readonly Akka.Cluster.Cluster? _cluster;
    private readonly string[] _singletonPath;

    public CoordinatorSender(IActorRef coordinator, ActorSystem system)
    {
        _coordinator = coordinator;
        _cluster = ((ExtendedActorSystem)system).Provider is IClusterActorRefProvider ? Akka.Cluster.Cluster.Get(system) : null;
        // The manager's child; the name as ClusterSingletonManagerSettings reads it (that needs the cluster's configuration loaded).
        _singletonPath = ["user", ClusterNode.CoordinatorName, system.Settings.Config.GetString("akka.cluster.singleton.singleton-name", "singleton")];
    }

    public bool Sent(IActorRef sender)
    {
        if (sender.Equals(_coordinator)) return true;
        if (_cluster is null || !sender.Path.Elements.SequenceEqual(_singletonPath)) return false;
        var oldest = _cluster.State.Members
            .Where(m => m.HasRole(ClusterSettings.CoordinatorRole) && m.Status is MemberStatus.Up or MemberStatus.Leaving or MemberStatus.Exiting)
            .Aggregate((Member?)null, (a, m) => a is null || m.IsOlderThan(a) ? m : a);
        var from = sender.Path.Address.HasGlobalScope ? sender.Path.Address : _cluster.SelfAddress;
        return oldest is not null && oldest.Address.Equals(from);
    }
}
