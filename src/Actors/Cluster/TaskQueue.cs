using Akka.Actor;
using BitActors.Streams.Telemetry;

namespace BitActors.Actors.Cluster;

/// <summary>
/// The tasks that wait for a device, in the order they are handed out (a task given back after a lost node or a failed
/// attempt goes to the front), and the devices each task already failed on, which get it only when no other is left.
/// </summary>
internal sealed class TaskQueue
{
    private readonly LinkedList<ClusterTask> _tasks = new();
    private readonly Dictionary<string, HashSet<IActorRef>> _failedOn = new();

    public int Count => _tasks.Count;

    public void Add(ClusterTask task)
    {
        _tasks.AddLast(task);
        Counted();
    }

    public void GiveBack(ClusterTask task)
    {
        _tasks.AddFirst(task);
        Counted();
    }

    /// <summary>The queue's length as <see cref="BitMetrics.TasksQueued"/>, after every change.</summary>
    private void Counted() => BitMetrics.TasksQueued.Record(_tasks.Count);

    public void FailedOn(string taskId, IActorRef device)
    {
        if (!_failedOn.TryGetValue(taskId, out var devices)) _failedOn[taskId] = devices = new HashSet<IActorRef>();
        devices.Add(device);
    }

    public ClusterTask? Find(string taskId) => _tasks.FirstOrDefault(t => t.Id == taskId);

    public void Remove(string taskId)
    {
        for (var n = _tasks.First; n is not null; n = n.Next)
            if (n.Value.Id == taskId)
            {
                _tasks.Remove(n);
                Counted();
                return;
            }
    }

    /// <summary>
    /// Takes the first task <paramref name="device"/> may run: not one that already failed on it, unless it failed on every
    /// device in <paramref name="known"/> (then any device is as good as another).
    /// </summary>
    public ClusterTask? TakeFor(IActorRef device, IReadOnlySet<IActorRef> known)
    {
        for (var n = _tasks.First; n is not null; n = n.Next)
            if (!_failedOn.TryGetValue(n.Value.Id, out var failed) || !failed.Contains(device) || known.All(failed.Contains))
            {
                _tasks.Remove(n);
                Counted();
                return n.Value;
            }
        return null;
    }
}
