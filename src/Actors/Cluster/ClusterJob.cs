namespace BitActors.Actors.Cluster;

/// <summary>
/// A fan-out to tasks, run by the cluster: of a given <c>Backbone</c> (what <c>run --backbone</c> does on one machine),
/// or of the backbone an <c>Upstream</c> pre-training makes first, itself a task of a trainer node. A task whose
/// attempt fails is tried again on another device until <c>MaxAttempts</c> attempts have failed, and one whose node is
/// lost is resumed on another until it has been lost <c>MaxNodeLosses</c> times.
/// </summary>
public sealed record ClusterJob(string RunId, GivenBackbone? Backbone, IReadOnlyList<FineTuneTask> Tasks, UpstreamSettings? Upstream = null, int MaxAttempts = 3,
    int MaxNodeLosses = 3)
{
    public string Arch => Backbone?.Arch ?? Upstream!.Model.Arch;

    /// <summary>The upstream pre-training as a task (its data: the upstream dataset and classes).</summary>
    public ClusterTask UpstreamTask => new(ClusterTask.UpstreamId, Upstream!.Data.Dataset, Upstream.Data.Classes.Classes.ToArray(), null, Upstream.Seed, true);

    /// <summary>Whether <paramref name="id"/> names a task of this job.</summary>
    public bool Has(string id) => Tasks.Any(t => t.Name == id) || (id == ClusterTask.UpstreamId && Upstream is not null);

    public int TaskCount => Tasks.Count + (Upstream is null ? 0 : 1);
}
