using Akka.Event;

namespace BitActors.Actors.Cluster;

/// <summary>
/// The coordinator's book of each task's attempts: how many were given, how many failed, how many were lost with their
/// node (and which nodes), and the last resumable checkpoint. Every change is written at once as the task's
/// <see cref="TaskProgress"/> record in the artifact store, so a coordinator that takes over goes on from the same counts.
/// </summary>
internal sealed class TaskLedger(ArtifactStore store, string runId, ILoggingAdapter log)
{
    private readonly Dictionary<string, TaskProgress> _records = new();

    /// <summary>Takes over what an earlier coordinator recorded (checkpoints already checked).</summary>
    public void Load(IReadOnlyDictionary<string, TaskProgress> records)
    {
        foreach (var (id, record) in records) _records[id] = record;
    }

    public int Failures(string taskId) => Of(taskId).Failures;

    /// <summary>The number of the last attempt given (0: none yet).</summary>
    public int Attempts(string taskId) => Of(taskId).Attempts;

    public int Losses(string taskId) => Of(taskId).Losses;

    public TaskCheckpoint? Checkpoint(string taskId) => Of(taskId).Checkpoint;

    /// <summary>The next attempt's number (attempt numbers go on from the record: no attempt writes over another's files).</summary>
    public int NextAttempt(string taskId) => Update(taskId, r => r with { Attempts = r.Attempts + 1 }).Attempts;

    /// <summary>An attempt a device still runs, adopted: later attempts are numbered after it.</summary>
    public void Adopted(string taskId, int attempt) => Update(taskId, r => r with { Attempts = Math.Max(r.Attempts, attempt) });

    /// <summary>A failed attempt counted; the count of failures so far.</summary>
    public int Failed(string taskId) => Update(taskId, r => r with { Failures = r.Failures + 1 }).Failures;

    /// <summary>An attempt lost with its node counted; the count of losses so far and the nodes lost, in order.</summary>
    public (int Losses, IReadOnlyList<string> Nodes) Lost(string taskId, string node)
    {
        var record = Update(taskId, r => r with { Losses = r.Losses + 1, LostOn = [.. r.LostOn ?? [], node] });
        return (record.Losses, record.LostOn ?? []);
    }

    /// <summary>A newer checkpoint recorded; false (nothing changes) for one that is not past the last.</summary>
    public bool Checkpointed(string taskId, TaskCheckpoint checkpoint)
    {
        if (Checkpoint(taskId) is { } last && last.NextStep >= checkpoint.NextStep) return false;
        Update(taskId, r => r with { Checkpoint = checkpoint });
        return true;
    }

    /// <summary>Drops <paramref name="checkpoint"/> when it is still the task's last (found unusable): the next attempt starts over.</summary>
    public void Unusable(string taskId, TaskCheckpoint? checkpoint)
    {
        if (checkpoint is not null && ReferenceEquals(Checkpoint(taskId), checkpoint)) Update(taskId, r => r with { Checkpoint = null });
    }

    /// <summary>The upstream's record with the backbone it made: a coordinator taking over fans it out instead of training again.</summary>
    public void BackboneMade(ClusterBackbone backbone) => Update(ClusterTask.UpstreamId, r => r with { Backbone = backbone });

    private TaskProgress Of(string taskId) => _records.GetValueOrDefault(taskId) ?? new TaskProgress(taskId, 0, 0, null);

    private TaskProgress Update(string taskId, Func<TaskProgress, TaskProgress> change)
    {
        var record = _records[taskId] = change(Of(taskId));
        Write(record);
        return record;
    }

    /// <summary>Writes the task's record; a store that cannot be written costs only a later coordinator's resume.</summary>
    private void Write(TaskProgress record) =>
        record.TryWrite(store, runId, e => log.Warning("task {0}: progress record not written to the artifact store ({1}); a coordinator taking over would start it over", record.TaskId, e));
}
