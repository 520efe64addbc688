using BitActors.Model.Checkpoints;
using BitActors.Model.Training;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Training;

/// <summary>
/// What a trainer builds and how it trains: the model (<see cref="Model"/>, its input channels and classes), where
/// it starts (<c>Backbone</c> weights, null = random init, with a zero-initialised head when <c>ZeroHead</c>; or a
/// resumable checkpoint, <c>ResumeFrom</c>), the SGD options (<see cref="Training"/>, whose seed seeds everything)
/// on <c>Device</c>; <c>MultiLabel</c>: the data is multi-label, learned with <c>Training.MultiLabel</c>'s loss.
/// </summary>
public sealed record TrainerSpec
{
    public required ModelChoice Model { get; init; }
    public required int InChannels { get; init; }
    public required int Classes { get; init; }
    public string? Backbone { get; init; }
    public bool ZeroHead { get; init; }
    public string? ResumeFrom { get; init; }
    public TrainingOptions Training { get; init; } = new();
    public bool MultiLabel { get; init; }
    public string Device { get; init; } = "cpu";

    public int Seed => Training.Seed;

    /// <summary>
    /// The micro-batch a trainer runs <paramref name="batch"/> images of <paramref name="crop"/>² as: <paramref name="configured"/>
    /// when positive, else (0, auto) the largest divisor of the batch whose activations fit half the device's memory.
    /// </summary>
    public static int MicroBatchFor(int configured, ModelChoice model, int channels, int batch, int crop, string device)
    {
        if (configured > 0) return configured;
        var config = BitActors.Model.Architecture.KnownModels.Get(model.Arch, channels, model.Norm, model.WeightStandardization);
        return BitActors.Model.Recipe.MicroBatch.For(config, batch, crop, BitActors.Model.Recipe.MicroBatch.DeviceMemory(device) ?? 16L << 30);
    }

    /// <summary>
    /// What the files of this trainer say about their model: its architecture and input, the dataset's names of
    /// <paramref name="classes"/> (the head's outputs, in order, with their dataset ids), the crop it trains at, and
    /// where it comes from.
    /// </summary>
    public CheckpointMetadata Describe(BitActors.Streams.Datasets.DatasetManifest manifest, ClassSubset classes, int crop, string run, string task) => new()
    {
        Arch = BitActors.Model.Architecture.KnownModels.Get(Model.Arch).Name, Norm = Model.Norm, WeightStandardization = Model.WeightStandardization,
        Channels = InChannels, Classes = Classes,
        ClassNames = classes.Classes.Select(c => c < manifest.Classes.Count ? manifest.Classes[c] : $"class {c}").ToArray(),
        ClassIds = classes.Classes.ToArray(), Crop = crop, Dataset = manifest.Name, Run = run, Task = task,
    };
}

/// <summary>Run one SGD step on <paramref name="Batch"/> at <paramref name="LearningRate"/>; the trainer replies with a <see cref="StepResult"/>.</summary>
public sealed record TrainOn(ImageBatch Batch, int Step, double LearningRate);

/// <summary>Evaluate one batch; the trainer replies with an <see cref="EvaluationPartial"/>.</summary>
public sealed record EvaluateOn(ImageBatch Batch);

/// <summary>
/// One evaluated batch, as the trainer answers <see cref="EvaluateOn"/>: correct top-1/top-5 counts, loss sum, and per
/// image its true and predicted class — O(batch); the evaluation sums them in one <see cref="EvaluationTally"/>.
/// </summary>
public sealed record EvaluationPartial(long Top1, long Top5, double LossSum, int[] Labels, long[] Predicted)
{
    public static EvaluationPartial Of(BatchEvaluation b, int[] labels) => new(b.Top1, b.Top5, b.LossSum, labels, b.Predicted);

    public EvaluationTally AddTo(EvaluationTally tally) => tally.Add(Top1, Top5, LossSum, Labels, Predicted);
}

/// <summary>
/// Write the model to <paramref name="Path"/>; with <paramref name="NextStep"/>, the training state too (a
/// resumable checkpoint). The trainer replies with <see cref="CheckpointSaved"/>.
/// </summary>
/// <summary>Save the weights; with <c>NextStep</c>, a resumable training checkpoint at that step and <c>Position</c>.</summary>
public sealed record SaveCheckpoint(string Path, int? NextStep = null, TrainingPosition? Position = null, CheckpointMetadata? Metadata = null);

public sealed record CheckpointSaved(CheckpointFiles.Saved Checkpoint, int? NextStep = null);

/// <summary>
/// Progress of a training run, for whoever watches (the CLI prints it). Step and data-wait seconds are means
/// per step since the last report: a data wait that is a large share of the step means the pipeline starves
/// the trainer.
/// </summary>
public sealed record TrainingProgress(string Run, string Task, int Step, int TotalSteps, double Loss, double Accuracy, double LearningRate,
    double ImagesPerSecond, double StepSeconds = 0, double DataWaitSeconds = 0);
