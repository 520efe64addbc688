using Akka.Actor;
using BitActors.Actors;
using BitActors.Actors.Training;
using Serilog;

namespace BitActors.Cli.Console;

/// <summary>Prints a run's progress and completes a task with its outcome.</summary>
public sealed class RunReporter : ReceiveActor
{
    public RunReporter(TaskCompletionSource<RunCompleted> outcome)
    {
        Receive<TrainingProgress>(p => Log.Information(
            "[{Task}] step {Step}/{Total}  loss {Loss:F4}  train acc {Accuracy:P1}  lr {Lr:G3}  {Rate:F0} img/s",
            p.Task, p.Step, p.TotalSteps, p.Loss, p.Accuracy, p.LearningRate, p.ImagesPerSecond));
        Receive<BackboneReady>(b => Log.Information("[upstream] backbone ready after {Steps} steps in {Elapsed:F0} s (test top-1 {Top1:P2} on its classes): {Path}",
            b.Steps, b.Elapsed.TotalSeconds, b.UpstreamTest.Top1, b.Checkpoint.Path));
        Receive<FineTuneCompleted>(c => Log.Information("[{Task}] test top-1 {Top1:P2} (top-5 {Top5:P2}) on {N:N0} images after {Steps} steps, {Elapsed:F0} s",
            c.Task.Name, c.Test.Top1, c.Test.Top5, c.Test.Examples, c.Steps, c.Elapsed.TotalSeconds));
        Receive<FineTuneFailed>(f => Log.Error("[{Task}] failed: {Reason}", f.Task.Name, f.Reason));
        Receive<RunCompleted>(r => outcome.TrySetResult(r));
        Receive<RunFailed>(f => outcome.TrySetException(new InvalidOperationException($"run {f.RunId} failed: {f.Reason}")));
    }

    public static Props Props(TaskCompletionSource<RunCompleted> outcome) => Akka.Actor.Props.Create(() => new RunReporter(outcome));
}
