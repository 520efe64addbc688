using Akka;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using BitActors.Model.Checkpoints;
using BitActors.Model.Recipe;
using BitActors.Model.Training;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Training;

/// <summary>
/// What differs between the loops a parent runs: its trainer and schedule, <c>Batches(fromStep)</c> (the data
/// from that step on), where the resumable checkpoint before a step goes and the position it records, where the
/// loop starts (a checkpoint and its step, or nothing and 0), and at the end of the schedule how the model is
/// evaluated and where it is saved. <c>Task</c> names the loop in its progress, restarts and log.
/// </summary>
public sealed record TrainingPlan(
    string RunId, string Task, TrainerSpec Trainer, StepSchedule Schedule, LoopSettings Settings,
    Func<int, Source<ImageBatch, NotUsed>> Batches, Func<int, string> CheckpointPath, Func<int, TrainingPosition> Position,
    (string? Path, int Step) StartFrom, Func<IActorRef, IMaterializer, Task<EvaluationResult>> Evaluate, string ModelPath)
{
    /// <summary>What every file of the loop says about its model (<see cref="TrainerSpec.Describe"/>); null: the model's own description only.</summary>
    public CheckpointMetadata? Metadata { get; init; }

    /// <summary>After <c>Evaluate</c>, the model's results on the validation hold-out (<see cref="BitActors.Streams.Datasets.SplitPart"/>); null: none.</summary>
    public Func<IActorRef, IMaterializer, Task<EvaluationResult?>>? Validate { get; init; }

    /// <summary>Hears of each batch as it goes to the trainer (a checkpoint asked for after it holds its step), for a feed that tracks its records.</summary>
    public Action<ImageBatch>? Trained { get; init; }
}

/// <summary>Stop gracefully: the trainer finishes its step and writes a resumable checkpoint at the next; answered by <see cref="TrainingStopped"/>.</summary>
public sealed record StopTraining;

/// <summary>A phase of the schedule begins at <c>Step</c> (the first batch of it arrived), at that step's learning rate.</summary>
public sealed record SchedulePhaseEntered(int Step, double LearningRate);

/// <summary>The last step of the schedule ran: the loop evaluates and saves the model now.</summary>
public sealed record ScheduleFinished(int Steps);

/// <summary>The schedule ran, the model was evaluated and saved; <c>Last</c> is the last step's result.</summary>
public sealed record TrainingFinished(EvaluationResult Test, CheckpointFiles.Saved Model, StepResult? Last)
{
    /// <summary>The results on the validation hold-out, when the plan has one.</summary>
    public EvaluationResult? Validation { get; init; }
}

/// <summary>The loop gave up at <c>Step</c>: its restarts are spent, the data stream failed or ended early, or evaluation failed.</summary>
public sealed record TrainingFailed(string Reason, int Step);

/// <summary>
/// The loop stopped on <see cref="StopTraining"/> before <c>Step</c>; <c>Checkpoint</c> continues from there (null: none yet).
/// <c>TrainerFailure</c>: the trainer died before it wrote the stop's checkpoint, which is then the last one.
/// </summary>
public sealed record TrainingStopped(int Step, string? Checkpoint, string? TrainerFailure = null);
