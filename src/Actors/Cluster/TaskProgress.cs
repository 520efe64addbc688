using System.Text.Json;

namespace BitActors.Actors.Cluster;

/// <summary>
/// What a coordinator knows of one task that <c>bit.models</c> does not say: how many attempts it was given, how many
/// of them failed, how many were lost with their node (<c>Losses</c>, the nodes in <c>LostOn</c>), its last resumable
/// checkpoint, and for the upstream task the backbone it made. A coordinator that takes over (the singleton moved to another node) reads these back and resumes every task from there.
/// </summary>
public sealed record TaskProgress(string TaskId, int Attempts, int Failures, TaskCheckpoint? Checkpoint, ClusterBackbone? Backbone = null,
    int Losses = 0, IReadOnlyList<string>? LostOn = null)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The folder of a run's records: next to its checkpoints in the artifact store.</summary>
    private static string Folder(ArtifactStore store, string runId) => Path.GetDirectoryName(store.PathOf($"{runId}/progress/.keep"))!;

    /// <summary>Replaces the task's record atomically (written beside it, then renamed over it): a reader never sees half of one.</summary>
    public void Write(ArtifactStore store, string runId)
    {
        var path = Path.Combine(Folder(store, runId), $"{TaskId}.json");
        var partial = $"{path}.{Guid.NewGuid():N}.partial";
        File.WriteAllText(partial, JsonSerializer.Serialize(this, Json));
        File.Move(partial, path, overwrite: true);
    }

    /// <summary>Writes the record, or tells <paramref name="warn"/> why it could not.</summary>
    public void TryWrite(ArtifactStore store, string runId, Action<string> warn)
    {
        try { Write(store, runId); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { warn(e.Message); }
    }

    /// <summary>Every record of the run, by task id; a record that cannot be read is reported to <paramref name="warn"/> and left out.</summary>
    public static Dictionary<string, TaskProgress> ReadAll(ArtifactStore store, string runId, Action<string> warn)
    {
        var records = new Dictionary<string, TaskProgress>();
        foreach (var file in Directory.EnumerateFiles(Folder(store, runId), "*.json"))
        {
            try
            {
                var record = JsonSerializer.Deserialize<TaskProgress>(File.ReadAllText(file), Json)
                    ?? throw new JsonException("empty record");
                if (record.TaskId + ".json" != Path.GetFileName(file)) throw new JsonException($"it names task '{record.TaskId}'");
                records[record.TaskId] = record;
            }
            catch (Exception e) when (e is JsonException or IOException or NotSupportedException)
            {
                warn($"progress record {file} ignored: {e.Message}");
            }
        }
        return records;
    }

    /// <summary>
    /// This record with only what can still be used: a checkpoint or backbone whose files are missing or changed
    /// (checked against their sha256) is dropped, reported to <paramref name="warn"/>, and the task starts over.
    /// </summary>
    public TaskProgress Verified(ArtifactStore store, Action<string> warn)
    {
        var record = this;
        if (Checkpoint is { } c && !Usable(store, TaskId, c, warn)) record = record with { Checkpoint = null };
        if (Backbone is { } b && Unusable(store, TaskId, b.Artifact, warn)) record = record with { Backbone = null };
        return record;
    }

    /// <summary>Whether a task's checkpoint can still be resumed from: both its files present and unchanged (sha256).</summary>
    public static bool Usable(ArtifactStore store, string taskId, TaskCheckpoint checkpoint, Action<string> warn) =>
        !(Unusable(store, taskId, checkpoint.Weights, warn) | Unusable(store, taskId, checkpoint.State, warn)); // both checked: each said

    private static bool Unusable(ArtifactStore store, string taskId, ArtifactRef artifact, Action<string> warn)
    {
        try
        {
            store.Fetch(artifact);
            return false;
        }
        catch (Exception e) when (e is IOException or NotSupportedException or UnauthorizedAccessException or BitActors.Model.Checkpoints.CorruptCheckpointException)
        {
            warn($"task {taskId}: {e.Message}; not resumed from it");
            return true;
        }
    }
}
