using BitActors.Actors;

namespace BitActors.Cli.Terminal;

/// <summary>A run that stopped on request before it finished; <see cref="Stopped"/> names what to resume from.</summary>
public sealed class RunInterrupted(RunStopped stopped) : Exception($"run {stopped.RunId} stopped ({stopped.Reason}) at step {stopped.Step}")
{
    public RunStopped Stopped { get; } = stopped;

    /// <summary>What the user can do next: <paramref name="args"/> (the command line) again with <c>--resume</c> naming the checkpoint.</summary>
    public string Advice(IReadOnlyList<string> args) => Stopped switch
    {
        { Checkpoint: null } => $"run {Stopped.RunId} stopped ({Stopped.Reason}) before any training: nothing to resume from",
        { BackboneFinished: true } => $"run {Stopped.RunId} stopped ({Stopped.Reason}) with the backbone finished: {Stopped.Checkpoint}\n" +
            $"fine-tune it with: ./bitactors run --backbone {Stopped.Checkpoint} …",
        _ => $"run {Stopped.RunId} stopped ({Stopped.Reason}) at step {Stopped.Step}; checkpoint: {Stopped.Checkpoint}\n" +
            $"resume with: ./bitactors {string.Join(' ', WithoutResume(args).Select(Quote))} --resume {Stopped.Checkpoint}",
    };

    private static IEnumerable<string> WithoutResume(IReadOnlyList<string> args)
    {
        for (int i = 0; i < args.Count; i++)
        {
            if (args[i] == "--resume") { i++; continue; }
            if (!args[i].StartsWith("--resume=", StringComparison.Ordinal)) yield return args[i];
        }
    }

    private static string Quote(string arg) => arg.Length > 0 && arg.All(c => char.IsLetterOrDigit(c) || "-_./:=,@+".Contains(c)) ? arg : $"'{arg.Replace("'", "'\\''")}'";
}

/// <summary>A run that failed; the message names the reason.</summary>
public sealed class RunFailedException(RunFailed failed) : InvalidOperationException($"run {failed.RunId} failed: {failed.Reason}")
{
    public RunFailed Failed { get; } = failed;
}
