using BitActors.Model.Checkpoints;
using BitActors.Model.Training;
using BitActors.Streams.Images;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors;

/// <summary>
/// One downstream task: a dataset's classes, optionally k shots per class drawn with a seed, from the backbone
/// or from scratch. Tasks that differ only in the seed share a <c>Group</c> (see <see cref="FineTuneTask.ForSeeds"/>).
/// </summary>
public sealed record FineTuneTask(string Name, string Dataset, ClassSubset Classes, int? Shots, int Seed, bool FromScratch, string? Group = null)
{
    public string GroupName => Group ?? Name;

    /// <summary>This task's step cap (a suite's per-dataset <c>max-steps</c>); null: <c>bitactors.finetune.max-steps</c>; 0: the HyperRule's steps.</summary>
    public int? MaxSteps { get; init; }

    /// <summary>The VTAB-1k protocol (<see cref="BitActors.Model.Recipe.Vtab1k"/>): 1,000 examples drawn with the seed, 800 trained on, 200 to validate on; <c>Shots</c> is null.</summary>
    public bool Vtab1k { get; init; }

    /// <summary>One task per seed, named <c>{name}-seed{s}</c>, grouped under <paramref name="name"/>.</summary>
    public static IEnumerable<FineTuneTask> ForSeeds(string name, string dataset, ClassSubset classes, int? shots, IReadOnlyList<int> seeds, bool fromScratch) =>
        seeds.Count == 1
            ? [new FineTuneTask(name, dataset, classes, shots, seeds[0], fromScratch)]
            : seeds.Select(s => new FineTuneTask($"{name}-seed{s}", dataset, classes, shots, s, fromScratch, name));
}

/// <summary>
/// A whole run: upstream then fan-out of the backbone to every task. <c>ResumeFrom</c>: a training
/// checkpoint of an earlier run with the same settings, to continue from its step. <c>Device</c>: where
/// trainers run (<c>cpu</c>, <c>cuda</c>, <c>cuda:N</c>).
/// </summary>
public sealed record RunSpec(string RunId, KafkaEndpoint Kafka, string OutputDir, UpstreamSettings Upstream, FineTuneSettings FineTune,
    IReadOnlyList<FineTuneTask> Tasks, string? ResumeFrom = null, string Device = "cpu", GivenBackbone? Backbone = null);

/// <summary>
/// A backbone from elsewhere (e.g. Google's <c>BiT-M-R50x1.npz</c>, a timm safetensors file, or an earlier
/// run's checkpoint): the run skips upstream training and fans it out to the tasks straight away.
/// </summary>
public sealed record GivenBackbone(string Path, string Arch, int InChannels,
    BitActors.Model.Architecture.NormKind Norm = BitActors.Model.Architecture.NormKind.GroupNorm, bool WeightStandardization = true)
{
    /// <summary>
    /// The backbone in <paramref name="path"/> as the file describes it (its metadata, or for Google's .npz its arrays'
    /// shapes); <paramref name="arch"/> and <paramref name="channels"/>, when given, must agree (named by <paramref name="optionName"/>).
    /// </summary>
    public static (GivenBackbone Backbone, CheckpointInfo Info) Of(string path, string? arch, int? channels, Func<string, string>? optionName = null)
    {
        var model = CheckpointModel.Resolve(path, arch, null, channels, null, null, needsHead: false, optionName);
        var c = model.Config;
        return (new GivenBackbone(path, c.Name, c.InChannels, c.Norm, c.WeightStandardization), model.Info);
    }

    /// <summary>
    /// What is announced for this backbone: the given file when it is safetensors, else its safetensors conversion written
    /// to <paramref name="converted"/> (the same weights under timm's names, with what the file says or its arrays imply);
    /// and the given file itself, hashed. A file without a classification head is announced as it is. A conversion already
    /// there (a coordinator that took over: its path names the run, whose id holds the given file's hash) is kept.
    /// </summary>
    public (CheckpointFiles.Saved Announced, CheckpointFiles.Saved Given) Announceable(string converted)
    {
        var given = CheckpointFiles.Describe(Path);
        if (given.Format == "safetensors") return (given with { Metadata = CheckpointFiles.Inspect(Path).Metadata }, given);
        if (File.Exists(converted) && File.Exists(CheckpointFiles.HashPath(converted)))
            return (CheckpointFiles.Describe(converted) with { Metadata = CheckpointFiles.Inspect(converted).Metadata }, given);
        return (CheckpointFiles.Rewrite(Path, converted) ?? given, given);
    }
}

/// <summary>
/// The trainer of <c>Task</c> (<c>upstream</c>, or a fine-tune task's name) failed and is restarted, for the
/// <c>Attempt</c>-th time, from <c>FromStep</c> (its own last checkpoint; 0: from the start).
/// </summary>
public sealed record TrainerRestarted(string RunId, string Task, int Attempt, int FromStep, string Reason);

/// <summary>A resumable checkpoint (of the upstream run or of a fine-tune task) was written.</summary>
public sealed record TrainingCheckpointed(string RunId, int NextStep, string Path);

/// <summary>The upstream backbone is trained, evaluated on the upstream classes' test split, and saved.</summary>
public sealed record BackboneReady(string RunId, string Arch, int InChannels, CheckpointFiles.Saved Checkpoint, int Steps, double FinalLoss, double FinalAccuracy,
    EvaluationResult UpstreamTest, TimeSpan Elapsed,
    BitActors.Model.Architecture.NormKind Norm = BitActors.Model.Architecture.NormKind.GroupNorm, bool WeightStandardization = true)
{
    /// <summary>A given backbone's own file, when <c>Checkpoint</c> is its safetensors conversion.</summary>
    public CheckpointFiles.Saved? Given { get; init; }

    /// <summary>The results on the upstream classes' validation hold-out of the training split (null: none held out, or not trained here).</summary>
    public EvaluationResult? Validation { get; init; }
}

/// <summary>A fine-tune task finished and was evaluated on the test split (and on the validation hold-out of its training split, when there is one).</summary>
public sealed record FineTuneCompleted(string RunId, FineTuneTask Task, string Arch, int Examples, int Steps, EvaluationResult Test,
    CheckpointFiles.Saved Checkpoint, IReadOnlyDictionary<string, object> HyperParameters, TimeSpan Elapsed)
{
    /// <summary>The results on the validation hold-out of the task's classes (<see cref="BitActors.Streams.Datasets.SplitPart"/>): what settings are chosen on. Null: none held out.</summary>
    public EvaluationResult? Validation { get; init; }

    /// <summary>
    /// This outcome as a run keeps it for its report once its event is out: without the confusion matrix, and with
    /// per-class top-1 only up to <paramref name="maxClasses"/> classes (above that, the event names the
    /// <c>NAME.evaluation.json</c> beside the checkpoint that holds both).
    /// </summary>
    public FineTuneCompleted Compact(int maxClasses) =>
        this with
        {
            Test = Test with { Confusion = null, PerClassTop1 = Test.PerClassTop1.Length <= maxClasses ? Test.PerClassTop1 : [] },
            Validation = Validation is { } v ? v with { Confusion = null, PerClassTop1 = [] } : null,
        };
}

public sealed record FineTuneFailed(string RunId, FineTuneTask Task, string Reason);

/// <summary>Every task of the run has finished (completed or failed).</summary>
public sealed record AllTasksFinished(IReadOnlyList<object> Outcomes);

public sealed record RunCompleted(string RunId, BackboneReady Backbone, IReadOnlyList<FineTuneCompleted> Completed, IReadOnlyList<FineTuneFailed> Failed)
{
    /// <summary>Per task group: every seed's test top-1 and their median (BiT reports the median of 5 draws).</summary>
    public IReadOnlyList<SeedSummary> Summaries => SeedSummary.Of(Completed);
}

public sealed record SeedSummary(string Group, bool FromScratch, int? Shots, IReadOnlyList<(int Seed, double Top1)> PerSeed, double MedianTop1)
{
    /// <summary>The median validation top-1 over the seeds; null when a task of the group has no validation results.</summary>
    public double? MedianValidationTop1 { get; init; }

    public static IReadOnlyList<SeedSummary> Of(IEnumerable<FineTuneCompleted> completed) =>
        completed.GroupBy(c => c.Task.GroupName)
            .Select(g => new SeedSummary(g.Key, g.First().Task.FromScratch, g.First().Task.Shots,
                g.OrderBy(c => c.Task.Seed).Select(c => (c.Task.Seed, c.Test.Top1)).ToList(), Median(g.Select(c => c.Test.Top1)))
            {
                MedianValidationTop1 = g.All(c => c.Validation is not null) ? Median(g.Select(c => c.Validation!.Top1)) : null,
            })
            .ToList();

    /// <summary>The middle value; the mean of the two middle values for an even count (as numpy.median).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) throw new InvalidOperationException("median of nothing");
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}

public sealed record RunFailed(string RunId, string Reason);

/// <summary>
/// Told to a run's reporter when the run starts: the run's supervisor, for the reporter to watch. A supervisor that
/// stops without a <see cref="RunCompleted"/>, <see cref="RunStopped"/> or <see cref="RunFailed"/> ends the run as failed.
/// </summary>
public sealed record WatchRun(string RunId, Akka.Actor.IActorRef Supervisor);

/// <summary>Stop the run gracefully: checkpoint what is being trained, then stop (SIGINT/SIGTERM in the CLI).</summary>
public sealed record StopRun(string Reason);

/// <summary>
/// The run stopped on request. <c>Checkpoint</c>: what to continue from (a resumable upstream checkpoint before
/// <c>Step</c>, or the finished backbone when <c>BackboneFinished</c>); null when nothing had been trained yet.
/// </summary>
public sealed record RunStopped(string RunId, string Reason, int Step, string? Checkpoint, bool BackboneFinished = false);
