using BitActors.Streams.Kafka;

namespace BitActors.Actors.FineTuning;

/// <summary>
/// Everything a <see cref="FineTuneWorker"/> needs to train one task: the run it belongs to, the backbone (a local,
/// verified file), where its resumable step checkpoints (<c>StepCheckpoint(nextStep)</c>) and its final model go, and
/// where it starts. In one process (<see cref="InRun"/>) that is the run's output folder, from step 0, the step
/// checkpoints deleted once the model is saved. A cluster's attempt puts them in the artifact store, starts from the
/// checkpoint an earlier attempt left (<c>StartFrom</c>, the data replayed to that step), numbers itself
/// (<c>Attempt</c> &gt; 0: named in its log and hyperparameters), and with <c>ReportCheckpoints</c> tells its parent of
/// every checkpoint (a <see cref="TrainingCheckpointed"/>) and keeps them for a later attempt elsewhere.
/// </summary>
public sealed record FineTuneAttempt(
    string RunId, KafkaEndpoint Kafka, FineTuneSettings Settings, string Device, FineTuneTask Task, GivenBackbone Backbone,
    Func<int, string> StepCheckpoint, string Model, int Attempt = 0, (string Path, int NextStep)? StartFrom = null, bool ReportCheckpoints = false)
{
    /// <summary>A task of a one-process run, from <paramref name="backbone"/>: files under the run's output folder.</summary>
    public static FineTuneAttempt InRun(RunSpec run, FineTuneTask task, BackboneReady backbone)
    {
        var checkpoints = Path.Combine(run.OutputDir, "checkpoints");
        return new FineTuneAttempt(run.RunId, run.Kafka, run.FineTune, run.Device, task,
            new GivenBackbone(backbone.Checkpoint.Path, backbone.Arch, backbone.InChannels, backbone.Norm, backbone.WeightStandardization),
            next => Path.Combine(checkpoints, $"{run.RunId}-{task.Name}-step{next}.bin"), Path.Combine(checkpoints, $"{run.RunId}-{task.Name}.safetensors"));
    }

    /// <summary>How the worker names the task in its log: with the attempt number when it has one.</summary>
    public string Label => Attempt > 0 ? $"{Task.Name} attempt {Attempt}" : Task.Name;
}
