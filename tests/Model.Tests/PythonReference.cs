using System.Diagnostics;

namespace BitActors.Model.Tests;

/// <summary>
/// Runs Reference/bit_reference.py, an independent BiT implementation on Debian's python3-torch
/// (./run-tests installs it), and returns the folder it wrote.
/// </summary>
public static class PythonReference
{
    public const string Python = "/usr/bin/python3";

    public static string Script => Path.Combine(AppContext.BaseDirectory, "Reference", "bit_reference.py");

    public static string Run(params string[] arguments)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Script);
        foreach (var a in arguments) start.ArgumentList.Add(a);
        Process process;
        try { process = Process.Start(start)!; }
        catch (System.ComponentModel.Win32Exception e) { throw new InvalidOperationException($"{Python} not found: apt-get install python3-torch python3-numpy", e); }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(3))) { process.Kill(); throw new TimeoutException("bit_reference.py ran over 3 minutes"); }
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"bit_reference.py {string.Join(' ', arguments)} failed ({process.ExitCode}); needs python3-torch and python3-numpy:\n{stderr.Result}");
            return stdout.Result;
        }
    }

    /// <summary>Writes a reference model's files into a new folder (see the script's <c>make</c> mode).</summary>
    public static string Make(string units, int width, int baseWidth, int groups, int classes, int resolution, int seed = 0)
    {
        var dir = Directory.CreateTempSubdirectory("bit-reference-").FullName;
        Run("make", "--units", units, "--width", width.ToString(), "--base", baseWidth.ToString(), "--groups", groups.ToString(),
            "--classes", classes.ToString(), "--resolution", resolution.ToString(), "--seed", seed.ToString(), "--out", dir);
        return dir;
    }
}
