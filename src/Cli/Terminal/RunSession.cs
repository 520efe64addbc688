using System.Diagnostics;
using Akka.Actor;
using BitActors.Actors;
using BitActors.Actors.Hosting;
using BitActors.Actors.Telemetry;
using BitActors.Cli.Reports;
using Spectre.Console;

namespace BitActors.Cli.Terminal;

/// <summary>
/// A run as the CLI drives it: the supervisor and a reporter in the actor system, progress shown live or as
/// lines, SIGINT/SIGTERM turned into a graceful stop, and the run folder (metrics.jsonl, log.json, plots,
/// summary.md) written however the run ends.
/// </summary>
public static class RunSession
{
    /// <returns>The completed run, or null with the exit code of a stop (its advice already printed). A failed run throws <see cref="RunFailedException"/>.</returns>
    /// <param name="journal">Where the run's outcomes are recorded as they come (a soak follows it); default a new one.</param>
    public static async Task<(RunCompleted? Completed, int ExitCode)> RunAsync(BitActorsHost host, RunSpec run, IAnsiConsole console,
        CancellationToken cancellationToken, RunJournal? journal = null)
    {
        var wall = Stopwatch.StartNew();
        Logging.AddRunLog(run.OutputDir);
        journal ??= new RunJournal();
        var args = Environment.GetCommandLineArgs()[1..];
        var command = string.Join(' ', new[] { "bitactors" }.Concat(args));
        var suite = run.Tasks.Select(t => t.Dataset).Distinct().Count() > 1;
        void WriteFolder(RunFolder.Ending ending) => RunFolder.Write(run.OutputDir, run.RunId, journal, ending, wall.Elapsed, command, suite);
        try
        {
            var completed = await ProgressDisplay.RunAsync(async display =>
            {
                var outcome = new TaskCompletionSource<RunCompleted>(TaskCreationOptions.RunContinuationsAsynchronously);
                var supervisor = host.StartRun(run, RunReporter.Props(outcome, Path.Combine(run.OutputDir, MetricsLog.File), journal, display));
                using var signals = new StopSignals(reason => supervisor.Tell(new StopRun(reason), ActorRefs.NoSender));
                return await outcome.Task.WaitAsync(cancellationToken);
            }, console);
            WriteFolder(new RunFolder.Ending());
            return (completed, 0);
        }
        catch (RunInterrupted stopped)
        {
            WriteFolder(new RunFolder.Ending(Stopped: stopped.Stopped));
            console.WritePlainLine(stopped.Advice(args));
            console.WritePlainLine($"run folder: {run.OutputDir}");
            return (null, StopSignals.ExitCode(stopped.Stopped.Reason));
        }
        catch (RunFailedException failed)
        {
            WriteFolder(new RunFolder.Ending(Failure: failed.Failed.Reason));
            throw;
        }
    }
}
