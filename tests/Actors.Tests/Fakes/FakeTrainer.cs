using Akka.Actor;
using BitActors.Actors.Training;
using BitActors.Model.Checkpoints;
using BitActors.Model.Training;

namespace BitActors.Actors.Tests.Fakes;

/// <summary>What fake trainers were asked to do, across restarts (shared, so guarded by a lock).</summary>
internal sealed class TrainerLog
{
    public readonly List<(int Step, double Lr)> Steps = new();
    public readonly List<int?> Checkpoints = new();
    public readonly List<string?> ResumedFrom = new();

    /// <summary>Fail once per listed step, the first time the trainer reaches it.</summary>
    public readonly HashSet<int> FailAt = new();

    /// <summary>Fail every time the trainer reaches this step.</summary>
    public int? AlwaysFailAt;

    /// <summary>Write each checkpoint as a tiny file (and a state file beside a resumable one), for code that hashes them.</summary>
    public bool WriteFiles;
}

/// <summary>
/// A trainer without tensors: records each step and its learning rate, answers with a fixed loss, "saves"
/// checkpoints without writing files, evaluates every image as class 0; throws (as a NaN loss does) at the
/// planned steps.
/// </summary>
internal sealed class FakeTrainer : ReceiveActor
{
    public FakeTrainer(TrainerSpec spec, TrainerLog log)
    {
        lock (log) log.ResumedFrom.Add(spec.ResumeFrom);
        Receive<TrainOn>(m =>
        {
            lock (log)
            {
                if (log.FailAt.Remove(m.Step) || m.Step == log.AlwaysFailAt) throw new ArithmeticException($"loss became NaN at step {m.Step}");
                log.Steps.Add((m.Step, m.LearningRate));
            }
            Sender.Tell(new StepResult(m.Step, m.LearningRate, 1.0 / (m.Step + 1), 0.5, m.Batch.Count));
        });
        Receive<SaveCheckpoint>(m =>
        {
            lock (log)
            {
                log.Checkpoints.Add(m.NextStep);
                if (log.WriteFiles)
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(m.Path)!);
                    File.WriteAllBytes(m.Path, [(byte)spec.Seed, (byte)(m.NextStep ?? 255)]);
                    if (m.NextStep is not null) File.WriteAllBytes(TrainingCheckpoint.StatePath(m.Path), [(byte)m.NextStep]);
                }
            }
            Sender.Tell(new CheckpointSaved(new CheckpointFiles.Saved(m.Path, 1, new string('0', 64), "fake"), m.NextStep));
        });
        Receive<EvaluateOn>(m => Sender.Tell(EvaluationPartial.Of(new BatchEvaluation(0, 0, 0, new long[m.Batch.Count]), m.Batch.Labels)));
    }

    public static Func<TrainerSpec, Props> Factory(TrainerLog log) => spec => Props.Create(() => new FakeTrainer(spec, log));
}
