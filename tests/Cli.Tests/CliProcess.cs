using System.Diagnostics;
using System.Text;

namespace BitActors.Cli.Tests;

/// <summary>Runs the built `bitactors` CLI as a separate process, as users do.</summary>
internal sealed class CliProcess : IDisposable
{
    private readonly Process process;
    private readonly StringBuilder stdout = new(), stderr = new();
    private readonly List<string> lines = new();

    public CliProcess(params string[] args) : this(new Dictionary<string, string>(), args)
    {
    }

    /// <param name="environment">Variables set for this process only, on top of the test's own.</param>
    public CliProcess(IReadOnlyDictionary<string, string> environment, params string[] args) : this(environment, false, args)
    {
    }

    /// <summary>
    /// Started as from an interactive terminal: with SIGINT's default disposition. A job started in the
    /// background by a non-interactive shell (as CI may run the suite) inherits SIGINT as ignored, and an
    /// ignored signal stays ignored across exec, so Ctrl+C could not reach the CLI at all. Python resets it
    /// and execs the CLI in the same process (same pid).
    /// </summary>
    public static CliProcess AsFromATerminal(params string[] args) => new(new Dictionary<string, string>(), true, args);

    private CliProcess(IReadOnlyDictionary<string, string> environment, bool defaultSigint, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "bitactors.dll");
        var psi = new ProcessStartInfo(defaultSigint ? "/usr/bin/python3" : "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        if (defaultSigint)
        {
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp('dotnet', ['dotnet'] + sys.argv[1:])");
        }
        foreach (var (name, value) in environment) psi.Environment[name] = value;
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        process = Process.Start(psi) ?? throw new InvalidOperationException("could not start bitactors");
        process.OutputDataReceived += (_, e) => { if (e.Data is null) return; lock (lines) { lines.Add(e.Data); stdout.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is null) return; lock (stderr) stderr.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Id => process.Id;

    /// <summary>SIGKILL: the process gets no chance to shut down or flush anything.</summary>
    public void Kill() => process.Kill();

    public string Stdout { get { lock (lines) return stdout.ToString(); } }

    public string Stderr { get { lock (stderr) return stderr.ToString(); } }

    public async Task<string> WaitForLineAsync(string prefix, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            lock (lines)
            {
                var line = lines.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
                if (line is not null) return line;
            }
            if (process.HasExited) break;
            await Task.Delay(50);
        }
        throw new TimeoutException($"no line starting with '{prefix}'. stdout: {Stdout} stderr: {Stderr}");
    }

    /// <summary>Waits until stderr (the logs) contains <paramref name="text"/>.</summary>
    public async Task WaitForStderrAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (Stderr.Contains(text, StringComparison.Ordinal)) return;
            if (process.HasExited) break;
            await Task.Delay(50);
        }
        throw new TimeoutException($"stderr never said '{text}'. stdout: {Stdout} stderr: {Stderr}");
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cts.Token);
        process.WaitForExit(); // drains the output handlers
        return process.ExitCode;
    }

    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(TimeSpan timeout, params string[] args)
    {
        using var cli = new CliProcess(args);
        var code = await cli.WaitForExitAsync(timeout);
        return (code, cli.Stdout, cli.Stderr);
    }

    public void Dispose()
    {
        if (!process.HasExited) process.Kill(entireProcessTree: true);
        process.Dispose();
    }
}
