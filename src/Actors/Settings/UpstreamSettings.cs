using BitActors.Model.Architecture;
using BitActors.Model.Recipe;
using BitActors.Model.Training;
using BitActors.Streams.Images;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors;

/// <summary>
/// Upstream pre-training (<c>bitactors.upstream</c>): which data (<see cref="Data"/>), which model
/// (<see cref="Model"/>), its schedule (<see cref="Schedule"/>), its optimizer (<see cref="Optimizer"/>), how the
/// loop checkpoints and recovers (<see cref="Loop"/>), and the seed of everything random.
/// Read from the configuration by <see cref="Hosting.BitActorsConfig.Upstream"/>.
/// </summary>
public sealed record UpstreamSettings
{
    public required UpstreamDataSettings Data { get; init; }
    public required ModelChoice Model { get; init; }
    public required UpstreamSchedule Schedule { get; init; }
    public UpstreamOptimizer Optimizer { get; init; } = new();
    public LoopSettings Loop { get; init; } = new();
    public int Seed { get; init; }

    /// <summary>
    /// The schedule of a run on <paramref name="manifest"/> (steps = 0: total-epochs of its classes' training images), once
    /// the dataset is found to have what the run needs (<see cref="Training.TrainingPreconditions"/>: its splits, and
    /// classes that exist and have images): refused before step 0, naming the class or split.
    /// </summary>
    public StepSchedule ScheduleFor(BitActors.Streams.Datasets.DatasetManifest manifest)
    {
        var classes = Data.ClassesOf(manifest);
        Training.TrainingPreconditions.Check(manifest, classes, "bitactors.upstream");
        var images = manifest.Split("train").ImagesOf(classes.Classes);
        return Schedule.ToStepSchedule(images is long n && Data.TrainPart is { } part ? part.Expected(n) : images);
    }
}

/// <summary>
/// The upstream data: a published dataset's classes, how images are sized and shuffled, how many decode at once.
/// <c>OrderedData</c>: read partitions in the published order (exact replays); <c>ConsumerGroup</c> (empty: none):
/// read the training split as a member of this Kafka consumer group, sharing its partitions with the other members
/// (trainer nodes), every record once per epoch across the group, resuming from the group's commits.
/// <c>DatasetWaitSeconds</c>: how long to wait for the dataset to be published. <c>ConfusionMaxClasses</c>: up to how
/// many classes the test evaluation keeps its confusion matrix. <c>ValidationFraction</c> and <c>Fraction</c>: which part of the
/// training split is trained on (<see cref="BitActors.Streams.Datasets.SplitPart"/>).
/// </summary>
public sealed record UpstreamDataSettings
{
    public required string Dataset { get; init; }
    public required ClassSubset Classes { get; init; }
    public required AugmentSettings Augment { get; init; }
    public int ShuffleBuffer { get; init; } = 2048;
    public int DecodeParallelism { get; init; } = 4;
    public bool OrderedData { get; init; } = true;
    public string ConsumerGroup { get; init; } = "";
    public double DatasetWaitSeconds { get; init; }
    public int ConfusionMaxClasses { get; init; } = EvaluationTally.DefaultConfusionMaxClasses;
    /// <summary>Share of the training split held out for validation (<c>bitactors.validation-fraction</c>; never trained on).</summary>
    public double ValidationFraction { get; init; }
    /// <summary>Share of the rest that is trained on (<c>bitactors.upstream.data-fraction</c>; smaller shares are subsets of larger ones).</summary>
    public double Fraction { get; init; } = 1.0;

    /// <summary>The records of the training split trained on; null: all of them.</summary>
    public BitActors.Streams.Datasets.SplitPart? TrainPart => BitActors.Streams.Datasets.SplitPart.Training(ValidationFraction, Fraction);

    /// <summary>The validation hold-out of the training split; null: none.</summary>
    public BitActors.Streams.Datasets.SplitPart? ValidationPart => BitActors.Streams.Datasets.SplitPart.HeldOut(ValidationFraction);

    /// <summary>The classes trained on: <see cref="Classes"/>, or every class of the dataset when it is empty.</summary>
    public ClassSubset ClassesOf(BitActors.Streams.Datasets.DatasetManifest manifest) =>
        Classes.Count > 0 ? Classes : ClassSubset.Range(0, manifest.Classes.Count);
}

/// <summary>A model of the ResNet-v2 family: the architecture's name, its norm layers, weight standardisation.</summary>
public sealed record ModelChoice(string Arch, NormKind Norm = NormKind.GroupNorm, bool WeightStandardization = true);

/// <summary>
/// BiT's upstream schedule: <c>Steps</c> at <c>BatchSize</c> (0: <c>TotalEpochs</c> epochs of the training images), lr
/// <c>BaseLrPer256</c> × batch/256 after a linear warmup of <c>WarmupFraction</c> of the run (0: <c>WarmupSteps</c> steps, BiT's
/// 5000, ending at the first decay at the latest), ÷10 at each of <c>DecayEpochs</c> (null: BiT-S/M's 30/60/80) of <c>TotalEpochs</c>.
/// </summary>
public sealed record UpstreamSchedule
{
    public required int BatchSize { get; init; }
    public required int Steps { get; init; }
    public double BaseLrPer256 { get; init; } = 0.03;
    public double WarmupFraction { get; init; } = 0.05;
    public IReadOnlyList<int>? DecayEpochs { get; init; }
    public int TotalEpochs { get; init; } = 90;
    public int WarmupSteps { get; init; } = 5000;

    /// <summary>The schedule; <paramref name="trainImages"/> (the upstream classes' training images) sizes a run of <c>Steps = 0</c>.</summary>
    public StepSchedule ToStepSchedule(long? trainImages = null)
    {
        int steps = Steps > 0 ? Steps
            : trainImages is long n && n > 0 ? checked((int)Math.Ceiling(TotalEpochs * (double)n / BatchSize))
            : throw new InvalidDataException("bitactors.upstream.steps = 0 takes total-epochs of the training images, and the dataset's manifest " +
                "does not count them per class (published by an older version): set bitactors.upstream.steps");
        return StepSchedule.Upstream(BatchSize, steps, WarmupFraction, BaseLrPer256, DecayEpochs, TotalEpochs, WarmupFraction > 0 ? null : WarmupSteps);
    }
}

/// <summary>
/// Upstream SGD beyond the schedule: weight decay, MixUp α (0: none), <c>MicroBatch</c> (0 = the whole batch: each
/// batch runs as micro-batches of this size with one update, the per-device batch of the paper's BatchNorm ablation),
/// and the loss of multi-label data.
/// </summary>
public sealed record UpstreamOptimizer
{
    public double WeightDecay { get; init; } = 1e-4;
    public double MixUpAlpha { get; init; }
    public int MicroBatch { get; init; }
    public MultiLabelLoss MultiLabelLoss { get; init; } = MultiLabelLoss.Sigmoid;
}
