using BitActors.Actors;
using BitActors.Actors.Hosting;
using BitActors.Cli.Terminal;
using Serilog;
using Spectre.Console;

namespace BitActors.Cli.Demo;

/// <summary>A study's runs, one after another in the same host: each upstream and its transfer tasks, then the next.</summary>
public static class StudyRuns
{
    /// <returns>Every run's result in the order of <paramref name="specs"/>, or null with the exit code of the run that stopped.</returns>
    public static async Task<(IReadOnlyList<RunCompleted>? Completed, int ExitCode)> RunAsync(BitActorsHost host,
        IReadOnlyList<(string Label, RunSpec Spec)> specs, IAnsiConsole console, CancellationToken cancellationToken)
    {
        var results = new List<RunCompleted>();
        foreach (var (label, spec) in specs)
        {
            Log.Information("[study] {Variant}: upstream {Steps} steps, then {Tasks} task(s) ({Done}/{Count})",
                label, spec.Upstream.Schedule.Steps, spec.Tasks.Count, results.Count + 1, specs.Count);
            var (done, exitCode) = await RunSession.RunAsync(host, spec, console, cancellationToken);
            if (done is null) return (null, exitCode);
            results.Add(done);
        }
        return (results, 0);
    }
}
