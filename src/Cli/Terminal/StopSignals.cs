using System.Runtime.InteropServices;
using Serilog;

namespace BitActors.Cli.Terminal;

/// <summary>
/// The first SIGINT (Ctrl+C) or SIGTERM asks for a graceful stop (the run checkpoints, then ends); a second
/// one is not intercepted, so it ends the process at once.
/// </summary>
public sealed class StopSignals : IDisposable
{
    private readonly PosixSignalRegistration[] _registrations;
    private int _signalled;

    public StopSignals(Action<string> stop)
    {
        _registrations = [Register(PosixSignal.SIGINT, "SIGINT", stop), Register(PosixSignal.SIGTERM, "SIGTERM", stop)];
    }

    /// <summary>The signal that asked for the stop, if any.</summary>
    public string? Received { get; private set; }

    /// <summary>The exit code of a process ended by that signal (128 + its number), as shells report it.</summary>
    public static int ExitCode(string reason) => reason switch { "SIGINT" => 130, "SIGTERM" => 143, _ => 3 };

    private PosixSignalRegistration Register(PosixSignal signal, string name, Action<string> stop) =>
        PosixSignalRegistration.Create(signal, context =>
        {
            if (Interlocked.Exchange(ref _signalled, 1) == 1) return;   // the second signal: default handling, the process ends
            context.Cancel = true;
            Received = name;
            Log.Warning("{Signal}: stopping after a checkpoint (send it again to quit at once)", name);
            stop(name);
        });

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
    }
}
