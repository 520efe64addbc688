using Akka.Actor;
using BitActors.Actors;
using BitActors.Cli.Terminal;

namespace BitActors.Cli.Tests;

/// <summary>
/// The command follows its run through the reporter, which watches the run's supervisor: a supervisor gone without
/// an outcome, or a reporter stopped for good, ends the command's wait with a failure naming it, instead of waiting forever.
/// </summary>
public sealed class RunWatchTests
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(10);

    private sealed class Silent : ReceiveActor
    {
        public Silent() => ReceiveAny(_ => { });
    }

    [Fact]
    public async Task ARunWhoseSupervisorStopsWithoutAnOutcomeFailsTheWaitNamingIt()
    {
        using var system = ActorSystem.Create("run-watch");
        var outcome = new TaskCompletionSource<RunCompleted>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reporter = system.ActorOf(RunReporter.Props(outcome), "reporter");
        var supervisor = system.ActorOf(Props.Create(() => new Silent()), "supervisor-watched");

        reporter.Tell(new WatchRun("watched", supervisor));
        supervisor.Tell(PoisonPill.Instance);

        var failed = await Assert.ThrowsAsync<RunFailedException>(() => outcome.Task.WaitAsync(Soon));
        Assert.Equal("run watched failed: the run's supervisor (supervisor-watched) stopped without reporting how the run ended", failed.Message);
        await system.Terminate();
    }

    [Fact]
    public async Task AReporterStoppedForGoodEndsTheWaitAndARunFailureBeforeItIsKept()
    {
        using var system = ActorSystem.Create("run-watch");
        var outcome = new TaskCompletionSource<RunCompleted>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reporter = system.ActorOf(RunReporter.Props(outcome), "reporter");
        reporter.Tell(new WatchRun("lost", system.ActorOf(Props.Create(() => new Silent()))));
        reporter.Tell(PoisonPill.Instance);
        var failed = await Assert.ThrowsAsync<RunFailedException>(() => outcome.Task.WaitAsync(Soon));
        Assert.Equal("run lost failed: the run's reporter stopped before the run ended", failed.Message);

        var second = new TaskCompletionSource<RunCompleted>(TaskCreationOptions.RunContinuationsAsynchronously);
        var other = system.ActorOf(RunReporter.Props(second), "other");
        other.Tell(new RunFailed("kept", "the real cause"));
        other.Tell(PoisonPill.Instance);
        var kept = await Assert.ThrowsAsync<RunFailedException>(() => second.Task.WaitAsync(Soon));
        Assert.Equal("run kept failed: the real cause", kept.Message);
        await system.Terminate();
    }
}
