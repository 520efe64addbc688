using Akka.Actor;

namespace BitActors.Actors.Cluster;

/// <summary>
/// The trainer devices a coordinator has heard from, each watched so that the loss of its node is seen, and those of
/// them that wait for a task (in the order they asked).
/// </summary>
internal sealed class KnownDevices(ICanWatch context)
{
    private readonly List<(IActorRef Slot, string Node)> _idle = new();
    private readonly HashSet<IActorRef> _watched = new();

    public IReadOnlySet<IActorRef> Watched => _watched;

    /// <summary>The devices waiting now, and none from here on (each is parked again if it still gets nothing).</summary>
    public List<(IActorRef Slot, string Node)> TakeIdle()
    {
        var idle = _idle.ToList();
        _idle.Clear();
        return idle;
    }

    /// <summary>The devices waiting now (they stay parked until they get a task).</summary>
    public List<(IActorRef Slot, string Node)> Idle => _idle.ToList();

    public void Watch(IActorRef slot)
    {
        if (_watched.Add(slot)) context.Watch(slot);
    }

    /// <summary>A device that waits for a task.</summary>
    public void Park(IActorRef slot, string node)
    {
        Watch(slot);
        if (!_idle.Any(i => i.Slot.Equals(slot))) _idle.Add((slot, node));
    }

    /// <summary>A device that was given a task.</summary>
    public void Busy(IActorRef slot) => _idle.RemoveAll(i => i.Slot.Equals(slot));

    /// <summary>A device that is gone.</summary>
    public void Forget(IActorRef slot)
    {
        Busy(slot);
        if (_watched.Remove(slot)) context.Unwatch(slot);
    }
}
