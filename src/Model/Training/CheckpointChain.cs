namespace BitActors.Model.Training;

/// <summary>
/// The resumable checkpoints of one training run, oldest first, of which only the newest <c>keep</c> are kept: each
/// one written supersedes those before it, so a long run (or a run restarted many times) does not fill its volume.
/// The chain starts with the checkpoint the run resumed from when that one lies in the run's own checkpoint folder (an
/// earlier attempt of the same run); a checkpoint given from elsewhere is the user's and is never deleted.
/// </summary>
public sealed class CheckpointChain
{
    private readonly List<string> _paths = [];
    private readonly int _keep;

    /// <param name="keep">How many checkpoints to keep, at least 1 (the newest is what a restart resumes from).</param>
    /// <param name="folder">The folder this run writes its checkpoints to.</param>
    /// <param name="startFrom">The checkpoint the run resumed from, if any.</param>
    public CheckpointChain(int keep, string folder, string? startFrom = null)
    {
        if (keep < 1) throw new ArgumentOutOfRangeException(nameof(keep), keep, "at least the newest checkpoint is kept");
        _keep = keep;
        if (startFrom is not null && SameFolder(Path.GetDirectoryName(Path.GetFullPath(startFrom))!, folder)) _paths.Add(Path.GetFullPath(startFrom));
    }

    /// <summary>Records a newly written checkpoint; returns those it supersedes beyond <c>keep</c>, to delete (oldest first).</summary>
    public IReadOnlyList<string> Add(string path)
    {
        var full = Path.GetFullPath(path);
        _paths.Remove(full); // rewritten at the same step (a replayed run): it is the newest again
        _paths.Add(full);
        if (_paths.Count <= _keep) return [];
        var superseded = _paths.Take(_paths.Count - _keep).ToList();
        _paths.RemoveRange(0, superseded.Count);
        return superseded;
    }

    private static bool SameFolder(string a, string b) =>
        string.Equals(Path.TrimEndingDirectorySeparator(a), Path.TrimEndingDirectorySeparator(Path.GetFullPath(b)), StringComparison.Ordinal);
}
