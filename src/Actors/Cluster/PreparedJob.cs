using BitActors.Model.Checkpoints;
using BitActors.Model.Training;
using BitActors.Streams.Kafka;

namespace BitActors.Actors.Cluster;

/// <summary>
/// What a <see cref="FineTuneCoordinator"/> starts from: the backbone copied into the artifact store (hash checked), the
/// outcomes already on bit.models, and what an earlier coordinator recorded of each task (its checkpoints checked; for the
/// upstream, the backbone it made), and a given backbone's event. Read off the coordinator's thread: it hashes whole files and reads Kafka.
/// </summary>
internal sealed record PreparedJob(ClusterBackbone? Backbone, BackboneReady? Given, IReadOnlySet<string> Done,
    IReadOnlyDictionary<string, TaskProgress> Progress, IReadOnlyList<string> Warnings)
{
    /// <summary>The last checkpoint an earlier coordinator recorded of each task.</summary>
    public IEnumerable<KeyValuePair<string, TaskCheckpoint>> Checkpoints =>
        Progress.Where(p => p.Value.Checkpoint is not null).Select(p => KeyValuePair.Create(p.Key, p.Value.Checkpoint!));

    /// <summary>The tasks that will resume from such a checkpoint, for the log (null: none).</summary>
    public string? Resuming => Checkpoints.Where(c => !Done.Contains(c.Key) && !(c.Key == ClusterTask.UpstreamId && Backbone is not null))
        .Select(c => $"{c.Key} from step {c.Value.NextStep}").ToList() is { Count: > 0 } resuming ? string.Join(", ", resuming) : null;

    public static PreparedJob Read(ClusterJob job, KafkaEndpoint kafka, ArtifactStore store)
    {
        var warnings = new List<string>();
        var progress = TaskProgress.ReadAll(store, job.RunId, warnings.Add).ToDictionary(p => p.Key, p => p.Value.Verified(store, warnings.Add));
        var done = CompletedTasks.Read(kafka, job.RunId, TimeSpan.FromSeconds(15));
        if (job.Backbone is not { } given)
            return new PreparedJob(progress.GetValueOrDefault(ClusterTask.UpstreamId)?.Backbone, null, done, progress, warnings);
        // Announced and fanned out as safetensors: converted straight into the store (a safetensors file is copied in).
        var (saved, givenFile) = given.Announceable(store.PathOf($"{job.RunId}/backbone/{Path.GetFileNameWithoutExtension(given.Path)}.safetensors"));
        var artifact = store.Import(saved.Path, $"{job.RunId}/backbone/{Path.GetFileName(saved.Path)}");
        var backbone = ClusterBackbone.Of(artifact, given.Arch, given.InChannels, given.Norm, given.WeightStandardization);
        var ready = new BackboneReady(job.RunId, given.Arch, given.InChannels, saved with { Path = new Uri(artifact.Uri).LocalPath }, 0, double.NaN, double.NaN,
            new EvaluationResult(double.NaN, double.NaN, double.NaN, 0, [], []), TimeSpan.Zero, given.Norm, given.WeightStandardization)
            { Given = givenFile.Path == saved.Path ? null : givenFile };
        return new PreparedJob(backbone, ready, done, progress, warnings);
    }
}
