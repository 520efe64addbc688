using BitActors.Model.Training;
using BitActors.Streams.Images;

namespace BitActors.Actors;

/// <summary>
/// How every fine-tune task runs (<c>bitactors.finetune</c>): its data (<see cref="Data"/>), the recipe's batch and
/// learning rate (<see cref="Recipe"/>), how its loop checkpoints and recovers (<see cref="Loop"/>), and how many tasks
/// train at once in one process (<c>MaxConcurrentTasks</c>: on CPU, concurrent trainers only share the same cores), and up
/// to how many classes a completed event carries per-class top-1 and the confusion matrix itself (<c>MaxClassesInEvent</c>,
/// <c>bitactors.events.max-classes-in-event</c>: above it they go to <c>NAME.evaluation.json</c> beside the checkpoint).
/// Read from the configuration by <see cref="Hosting.BitActorsConfig.FineTune"/>.
/// </summary>
public sealed record FineTuneSettings
{
    public required FineTuneRecipe Recipe { get; init; }
    public FineTuneDataSettings Data { get; init; } = new();
    public LoopSettings Loop { get; init; } = new() { MaxRestarts = 2 };
    public int MaxConcurrentTasks { get; init; } = 1;
    public int MaxClassesInEvent { get; init; } = Events.EvaluationFile.DefaultMaxClassesInEvent;
}

/// <summary>
/// The batch (<c>MicroBatch</c> &gt; 0: run as micro-batches of that size with one update) and base learning rate of
/// the HyperRule. <c>MaxSteps</c> (0 = none): a task whose HyperRule schedule is longer runs that schedule squeezed into
/// this many steps (warmup and decays keep their share, see <see cref="BitActors.Model.Recipe.StepSchedule.ScaledTo"/>).
/// </summary>
public sealed record FineTuneRecipe
{
    public required int BatchSize { get; init; }
    public double BaseLr { get; init; } = 0.003;
    /// <summary>The base learning rate of tasks trained from scratch; 0: <see cref="BaseLr"/> (the same rule for both).</summary>
    public double ScratchBaseLr { get; init; }

    /// <summary>The base learning rate of a task: <see cref="ScratchBaseLr"/> for one from scratch when set, else <see cref="BaseLr"/>.</summary>
    public double BaseLrFor(bool fromScratch) => fromScratch && ScratchBaseLr > 0 ? ScratchBaseLr : BaseLr;
    public int MicroBatch { get; init; }
    public int MaxSteps { get; init; }
}

/// <summary>
/// A fine-tune task's data: <c>Augment</c> null = the HyperRule's resolution for the dataset (<c>PaperResolution</c>:
/// the paper's 448/384 instead of the code's 480 for large images); the shuffle buffer, decode parallelism, the
/// evaluation's batch, and up to how many classes its confusion matrix is kept (<c>ConfusionMaxClasses</c>).
/// </summary>
public sealed record FineTuneDataSettings
{
    public AugmentSettings? Augment { get; init; }
    public bool PaperResolution { get; init; }
    public int ShuffleBuffer { get; init; } = 1024;
    public int DecodeParallelism { get; init; } = 4;
    public int EvalBatchSize { get; init; } = 256;
    public int ConfusionMaxClasses { get; init; } = EvaluationTally.DefaultConfusionMaxClasses;
    /// <summary>Share of the training split held out for validation (<c>bitactors.validation-fraction</c>): never drawn or trained on, every task is also evaluated on it.</summary>
    public double ValidationFraction { get; init; }

    /// <summary>The records of the training split a task draws from and trains on; null: all of them.</summary>
    public BitActors.Streams.Datasets.SplitPart? TrainPart => BitActors.Streams.Datasets.SplitPart.Training(ValidationFraction);

    /// <summary>The validation hold-out of the training split; null: none.</summary>
    public BitActors.Streams.Datasets.SplitPart? ValidationPart => BitActors.Streams.Datasets.SplitPart.HeldOut(ValidationFraction);
}
