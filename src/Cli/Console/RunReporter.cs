using Akka.Actor;
using BitActors.Actors;
using BitActors.Actors.Training;
using Serilog;

namespace BitActors.Cli.Console;

/// <summary>Prints a run's progress and completes a task with its outcome.</summary>
public sealed class RunReporter : ReceiveActor
{
    private readonly StreamWriter? _metrics;

    /// <param name="metricsPath">When given, every progress report is appended there as one JSON line.</param>
    public RunReporter(TaskCompletionSource<RunCompleted> outcome, string? metricsPath = null)
    {
        if (metricsPath is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(metricsPath))!);
            _metrics = new StreamWriter(metricsPath, append: true) { AutoFlush = true };
        }
        Receive<TrainingProgress>(p =>
        {
            Log.Information("[{Task}] step {Step}/{Total}  loss {Loss:F4}  train acc {Accuracy:P1}  lr {Lr:G3}  {Rate:F0} img/s  step {StepMs:F0} ms  data wait {WaitMs:F1} ms",
                p.Task, p.Step, p.TotalSteps, p.Loss, p.Accuracy, p.LearningRate, p.ImagesPerSecond, p.StepSeconds * 1000, p.DataWaitSeconds * 1000);
            _metrics?.WriteLine(System.Text.Json.JsonSerializer.Serialize(new
            {
                run = p.Run, task = p.Task, step = p.Step, total_steps = p.TotalSteps, loss = p.Loss, train_top1 = p.Accuracy, lr = p.LearningRate,
                images_per_second = p.ImagesPerSecond, step_seconds = p.StepSeconds, data_wait_seconds = p.DataWaitSeconds,
            }));
        });
        Receive<TrainerRestarted>(r => Log.Warning("[upstream] trainer failed ({Reason}); restart {Attempt} from step {Step}", r.Reason, r.Attempt, r.FromStep));
        Receive<BackboneReady>(b => b.Steps == 0, b => Log.Information("[backbone] given: {Path} ({Format}, sha256 {Sha})", b.Checkpoint.Path, b.Checkpoint.Format, b.Checkpoint.Sha256[..12]));
        Receive<BackboneReady>(b => Log.Information("[upstream] backbone ready after {Steps} steps in {Elapsed:F0} s (test top-1 {Top1:P2} on its classes): {Path}",
            b.Steps, b.Elapsed.TotalSeconds, b.UpstreamTest.Top1, b.Checkpoint.Path));
        Receive<FineTuneCompleted>(c => Log.Information("[{Task}] test top-1 {Top1:P2} (top-5 {Top5:P2}) on {N:N0} images after {Steps} steps, {Elapsed:F0} s",
            c.Task.Name, c.Test.Top1, c.Test.Top5, c.Test.Examples, c.Steps, c.Elapsed.TotalSeconds));
        Receive<FineTuneFailed>(f => Log.Error("[{Task}] failed: {Reason}", f.Task.Name, f.Reason));
        Receive<FineTuneRetried>(r => Log.Warning("[{Task}] trainer failed ({Reason}); retry {Attempt} from step {Step}", r.Task, r.Reason, r.Attempt, r.FromStep));
        Receive<PhaseChanged>(p => Log.Information("[upstream] phase {Phase} from step {Step}{Lr}", p.Phase, p.Step, p.LearningRate is double lr ? $" (lr {lr:G3})" : ""));
        Receive<TrainingCheckpointed>(c => Log.Debug("[upstream] checkpoint before step {Step}: {Path}", c.NextStep, c.Path));
        Receive<RunCompleted>(r => outcome.TrySetResult(r));
        Receive<RunStopped>(s => outcome.TrySetException(new RunInterrupted(s)));
        Receive<RunFailed>(f => outcome.TrySetException(new InvalidOperationException($"run {f.RunId} failed: {f.Reason}")));
    }

    public static Props Props(TaskCompletionSource<RunCompleted> outcome, string? metricsPath = null) =>
        Akka.Actor.Props.Create(() => new RunReporter(outcome, metricsPath));

    protected override void PostStop() => _metrics?.Dispose();
}
