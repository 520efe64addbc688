namespace BitActors.Cli.Tests;

/// <summary>
/// Tests that signal a running CLI process (SIGINT, SIGTERM, SIGKILL) at a chosen moment. They run on their
/// own, after the parallel tests: on 2 cores, beside a cluster of processes, the moment a signal lands and
/// the time a process takes to answer it varied too much (a graceful stop once missed its 2-minute wait).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SignalTestsCollection
{
    public const string Name = "signalled processes";
}
