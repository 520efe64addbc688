using BitActors.Model.Architecture;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Cluster;

// Messages between trainer nodes and the coordinator singleton. They cross the network (Akka's JSON
// serializer), so they hold plain values only: no actor state, no interfaces. Each is the one-process
// message of the same meaning (named in its summary) as a device says it of an attempt: keyed by task id
// and attempt number, with its files as artifact references.

/// <summary>A fine-tune task as it travels: <c>Id</c> is unique within the run (one completed event per id).</summary>
public sealed record ClusterTask(string Id, string Dataset, int[] Classes, int? Shots, int Seed, bool FromScratch, string? Group = null, int? MaxSteps = null, bool Vtab1k = false)
{
    /// <summary>The id of the upstream pre-training, when the job has one: the task every fine-tune task waits for.</summary>
    public const string UpstreamId = "upstream";

    public bool IsUpstream => Id == UpstreamId;

    public FineTuneTask ToFineTuneTask() => new(Id, Dataset, new ClassSubset(Classes), Shots, Seed, FromScratch, Group) { MaxSteps = MaxSteps, Vtab1k = Vtab1k };

    public static ClusterTask Of(FineTuneTask t) => new(t.Name, t.Dataset, t.Classes.Classes.ToArray(), t.Shots, t.Seed, t.FromScratch, t.Group, t.MaxSteps, t.Vtab1k);
}

/// <summary>The backbone every task starts from, in the artifact store (its norm by name, "gn" or "bn", for the wire).</summary>
public sealed record ClusterBackbone(ArtifactRef Artifact, string Arch, int InChannels, string Norm, bool WeightStandardization)
{
    public static ClusterBackbone Of(ArtifactRef artifact, string arch, int inChannels, NormKind norm, bool weightStandardization) =>
        new(artifact, arch, inChannels, norm == NormKind.BatchNorm ? "bn" : "gn", weightStandardization);

    /// <summary>The backbone as a fine-tune task loads it, from <paramref name="localPath"/> (fetched and checked).</summary>
    public GivenBackbone At(string localPath) => new(localPath, Arch, InChannels, KnownModels.ParseNorm(Norm), WeightStandardization);
}

/// <summary>A resumable fine-tune checkpoint in the artifact store: weights and training state, continuing at <c>NextStep</c>.</summary>
public sealed record TaskCheckpoint(ArtifactRef Weights, ArtifactRef State, int NextStep);

/// <summary>A trainer's device is free: it asks for a task (the pull that gives backpressure). Repeated while idle.</summary>
public sealed record RequestWork(string Node, string Device);

/// <summary>
/// A busy device says what it runs (every request interval): a coordinator that took over adopts that attempt
/// instead of starting the task again elsewhere.
/// </summary>
public sealed record WorkHeld(string Node, string Device, string TaskId, int Attempt);

/// <summary>
/// The coordinator's answer: run <c>Task</c> (attempt <c>Attempt</c>), from <c>ResumeFrom</c> when an earlier attempt left
/// one. <c>Backbone</c> is null for the upstream task, which makes it.
/// </summary>
public sealed record WorkAssigned(string RunId, ClusterTask Task, int Attempt, ClusterBackbone? Backbone, TaskCheckpoint? ResumeFrom);

/// <summary>An attempt wrote a resumable checkpoint (a <see cref="TrainingCheckpointed"/> on the wire, its files described).</summary>
public sealed record TaskCheckpointed(string TaskId, int Attempt, TaskCheckpoint Checkpoint);

/// <summary>
/// An attempt finished (a <see cref="FineTuneCompleted"/>, or the upstream's <see cref="BackboneReady"/> on the wire):
/// <c>EventJson</c> is the data of its <c>bit.models</c> event; the upstream task's also gives its <c>Backbone</c>, in the
/// artifact store, for the fine-tune tasks.
/// </summary>
public sealed record TaskCompleted(string TaskId, int Attempt, string EventJson, ClusterBackbone? Backbone = null);

/// <summary>An attempt failed (a <see cref="FineTuneFailed"/> or the upstream's <see cref="RunFailed"/> on the wire).</summary>
public sealed record TaskFailed(string TaskId, int Attempt, string Reason);

/// <summary>The coordinator recorded the outcome of <c>TaskId</c>: the trainer stops resending it.</summary>
public sealed record TaskSettled(string TaskId);
