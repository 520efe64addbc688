using Akka.Actor;
using BitActors.Actors;
using BitActors.Actors.Telemetry;
using BitActors.Actors.Training;
using BitActors.Cli.Reports;
using Serilog;

namespace BitActors.Cli.Terminal;

/// <summary>
/// Follows a run for the command: shows its progress (<see cref="ProgressDisplay"/>), logs what happens,
/// appends metrics to the run folder's <c>metrics.jsonl</c> and TensorBoard event file, records outcomes in a <see cref="RunJournal"/>,
/// and completes a task with the run's end (a <see cref="RunInterrupted"/> or <see cref="RunFailedException"/>
/// when it did not complete).
/// </summary>
public sealed class RunReporter : ReceiveActor
{
    private readonly MetricsWriter? _metrics;

    /// <param name="metricsPath">When given, every progress report and test result is appended there as one JSON line, and to a TensorBoard event file beside it.</param>
    public RunReporter(TaskCompletionSource<RunCompleted> outcome, string? metricsPath = null, RunJournal? journal = null, ProgressDisplay? display = null)
    {
        display ??= ProgressDisplay.Lines();
        if (metricsPath is not null) _metrics = new MetricsWriter(metricsPath);
        void Write(MetricsLine line) => _metrics?.Write(line);
        Receive<TrainingProgress>(p =>
        {
            display.Show(p);
            Write(MetricsLog.Of(p));
        });
        Receive<TrainerRestarted>(r => Log.Warning("[{Task}] trainer failed ({Reason}); restart {Attempt} from step {Step}", r.Task, r.Reason, r.Attempt, r.FromStep));
        Receive<PhaseChanged>(p =>
        {
            journal?.Record(p);
            Log.Information("[upstream] phase {Phase} from step {Step}{Lr}", p.Phase, p.Step, p.LearningRate is double lr ? $" (lr {lr:G3})" : "");
        });
        Receive<TrainingCheckpointed>(c => Log.Debug("[upstream] checkpoint before step {Step}: {Path}", c.NextStep, c.Path));
        Receive<BackboneReady>(b =>
        {
            journal?.Record(b);
            if (b.Steps == 0)
            {
                Log.Information("[backbone] given: {Path} ({Format}, sha256 {Sha})", b.Checkpoint.Path, b.Checkpoint.Format, b.Checkpoint.Sha256[..12]);
                return;
            }
            Write(MetricsLog.Of(b));
            display.Finished("upstream");
            Log.Information("[upstream] backbone ready after {Steps} steps in {Elapsed:F0} s (test top-1 {Top1:P2} on its classes): {Path}",
                b.Steps, b.Elapsed.TotalSeconds, b.UpstreamTest.Top1, b.Checkpoint.Path);
        });
        Receive<FineTuneCompleted>(c =>
        {
            journal?.Record(c);
            Write(MetricsLog.Of(c));
            display.Finished(c.Task.Name);
            Log.Information("[{Task}] test top-1 {Top1:P2} (top-5 {Top5:P2}) on {N:N0} images after {Steps} steps, {Elapsed:F0} s",
                c.Task.Name, c.Test.Top1, c.Test.Top5, c.Test.Examples, c.Steps, c.Elapsed.TotalSeconds);
        });
        Receive<FineTuneFailed>(f =>
        {
            journal?.Record(f);
            display.Finished(f.Task.Name);
            Log.Error("[{Task}] failed: {Reason}", f.Task.Name, f.Reason);
        });
        Receive<RunCompleted>(r => outcome.TrySetResult(r));
        Receive<RunStopped>(s => outcome.TrySetException(new RunInterrupted(s)));
        Receive<RunFailed>(f => outcome.TrySetException(new RunFailedException(f)));
        // The run ends in one of the three above; a supervisor gone without any (stopped from outside) fails it.
        Receive<WatchRun>(w => (_runId, _) = (w.RunId, Context.Watch(w.Supervisor)));
        Receive<Terminated>(t =>
        {
            outcome.TrySetException(new RunFailedException(
                new RunFailed(_runId, $"the run's supervisor ({t.ActorRef.Path.Name}) stopped without reporting how the run ended")));
        });
        _outcome = outcome;
    }

    private readonly TaskCompletionSource<RunCompleted> _outcome;
    private string _runId = "?";

    public static Props Props(TaskCompletionSource<RunCompleted> outcome, string? metricsPath = null, RunJournal? journal = null, ProgressDisplay? display = null) =>
        Akka.Actor.Props.Create(() => new RunReporter(outcome, metricsPath, journal, display));

    /// <summary>Restarted after a failure: the next instance opens the metrics file again; the run goes on.</summary>
    protected override void PreRestart(Exception reason, object message) => _metrics?.Dispose();

    /// <summary>Stopped for good: a run that has not ended cannot be followed any more, so the command ends now.</summary>
    protected override void PostStop()
    {
        _metrics?.Dispose();
        _outcome.TrySetException(new RunFailedException(new RunFailed(_runId, "the run's reporter stopped before the run ended")));
    }
}
