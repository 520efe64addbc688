using BitActors.Model.Training;
using BitActors.Streams.Images;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors;

/// <summary>Upstream pre-training: which data, which model, which schedule.</summary>
public sealed record UpstreamSettings(
    string Dataset, ClassSubset Classes, string Arch, int BatchSize, int Steps, double BaseLrPer256, double WarmupFraction,
    AugmentSettings Augment, int ShuffleBuffer, int DecodeParallelism, int Seed, int ProgressEvery = 50,
    IReadOnlyList<int>? DecayEpochs = null, int TotalEpochs = 90, double WeightDecay = 1e-4);

/// <summary>How every fine-tune task runs; null augment = the HyperRule's resolution for the dataset.</summary>
public sealed record FineTuneSettings(
    int BatchSize, double BaseLr, AugmentSettings? Augment, int ShuffleBuffer, int DecodeParallelism, int EvalBatchSize,
    int MaxConcurrentTasks = 1, int ProgressEvery = 50, bool PaperResolution = false, int MicroBatch = 0);

/// <summary>One downstream task: a dataset's classes, optionally k shots per class drawn with a seed, from the backbone or from scratch.</summary>
public sealed record FineTuneTask(string Name, string Dataset, ClassSubset Classes, int? Shots, int Seed, bool FromScratch);

/// <summary>A whole run: upstream then fan-out of the backbone to every task.</summary>
public sealed record RunSpec(string RunId, string BootstrapServers, string OutputDir, UpstreamSettings Upstream, FineTuneSettings FineTune, IReadOnlyList<FineTuneTask> Tasks);

/// <summary>The upstream backbone is trained, evaluated on the upstream classes' test split, and saved.</summary>
public sealed record BackboneReady(string RunId, string Arch, int InChannels, Checkpoints.Saved Checkpoint, int Steps, double FinalLoss, double FinalAccuracy,
    EvaluationResult UpstreamTest, TimeSpan Elapsed);

/// <summary>A fine-tune task finished and was evaluated on the test split.</summary>
public sealed record FineTuneCompleted(string RunId, FineTuneTask Task, string Arch, int Examples, int Steps, EvaluationResult Test,
    Checkpoints.Saved Checkpoint, IReadOnlyDictionary<string, object> HyperParameters, TimeSpan Elapsed);

public sealed record FineTuneFailed(string RunId, FineTuneTask Task, string Reason);

/// <summary>Every task of the run has finished (completed or failed).</summary>
public sealed record AllTasksFinished(IReadOnlyList<object> Outcomes);

public sealed record RunCompleted(string RunId, BackboneReady Backbone, IReadOnlyList<FineTuneCompleted> Completed, IReadOnlyList<FineTuneFailed> Failed);

public sealed record RunFailed(string RunId, string Reason);
