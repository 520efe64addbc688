using Akka.Actor;
using BitActors.Actors;
using BitActors.Actors.Training;
using BitActors.Cli.Console;

namespace BitActors.Cli.Demo;

/// <summary>Runs one <see cref="RunSpec"/> (upstream or given backbone, then its tasks) in an actor system and waits for its outcome.</summary>
public static class DemoRunner
{
    public static async Task<RunCompleted> RunAsync(ActorSystem system, RunSpec run, CancellationToken cancellationToken)
    {
        var outcome = new TaskCompletionSource<RunCompleted>(TaskCreationOptions.RunContinuationsAsynchronously);
        // Actor names carry the run id: a study runs several specs one after another in the same system.
        var reporter = system.ActorOf(RunReporter.Props(outcome, Path.Combine(run.OutputDir, "metrics.jsonl")), $"reporter-{run.RunId}");
        var supervisor = system.ActorOf(TrainingSupervisor.Props(run, reporter), $"supervisor-{run.RunId}");
        try
        {
            return await outcome.Task.WaitAsync(cancellationToken);
        }
        finally
        {
            system.Stop(supervisor);
            system.Stop(reporter);
        }
    }
}
