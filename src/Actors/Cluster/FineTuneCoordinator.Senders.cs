using Akka.Actor;
using Akka.Event;

namespace BitActors.Actors.Cluster;

// Who may speak for an attempt. Remoting does not authenticate a message's sender (TLS with the cluster's certificate
// decides who may connect at all: see docs/cluster.md), so the coordinator at least takes an attempt's checkpoints and
// outcome only from the device it handed that attempt to, and only for the task's current attempt.
public sealed partial class FineTuneCoordinator
{
    private const string Completion = "an outcome";

    /// <summary>
    /// Whether <paramref name="what"/> (a checkpoint or an outcome) for attempt <paramref name="attempt"/> of
    /// <paramref name="taskId"/> comes from the device that attempt was assigned to, while it is the task's current attempt.
    /// When not, it is logged and dropped: from anyone else while the attempt is current (a forged or misrouted message);
    /// for an attempt that is not current (one a lost device or an earlier coordinator ran) an outcome is acknowledged, so
    /// that its device stops resending it and asks for work again. Neither is recorded or announced.
    /// </summary>
    private bool FromAssignee(string taskId, int attempt, string what, out Assignment assignment, bool outcome = true)
    {
        if (IsCurrent(taskId, attempt, out assignment) && assignment.Slot.Equals(Sender)) return true;
        if (assignment is not null && assignment.Work.Attempt == attempt)
        {
            _log.Warning("{0} for task {1} attempt {2} from {3}, which is not the device the attempt was assigned to ({4}): dropped",
                what, taskId, attempt, Sender.Path, assignment.Slot.Path);
            return false;
        }
        if (!outcome) return false; // a lost attempt's checkpoint, as before: nothing to answer
        if (what == Completion && !_running.ContainsKey(taskId) && _queue.Find(taskId) is not null && attempt == _ledger.Attempts(taskId))
        {
            // After a handover: the last attempt an earlier coordinator assigned finished before its device said it held
            // it (a device reporting an outcome sends no WorkHeld). Adopted from that device, so its result counts.
            Adopt(Sender, new WorkHeld(Sender.Path.Address.ToString(), "", taskId, attempt));
            return IsCurrent(taskId, attempt, out assignment);
        }
        Sender.Tell(new TaskSettled(taskId));
        _log.Info("{0} for task {1} attempt {2} from {3}: not the task's current attempt ({4}); acknowledged, not counted",
            what, taskId, attempt, Sender.Path, _running.TryGetValue(taskId, out var current) ? $"attempt {current.Work.Attempt} on {current.Node}" : "none running");
        return false;
    }
}
