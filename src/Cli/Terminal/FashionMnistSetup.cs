using System.Diagnostics;
using BitActors.Streams.Datasets;
using Serilog;

namespace BitActors.Cli.Terminal;

/// <summary>
/// Fashion-MNIST comes from the Debian package <c>dataset-fashion-mnist</c>. When it is missing and we
/// run as root, install it; otherwise say exactly what to do.
/// </summary>
public static class FashionMnistSetup
{
    public static string EnsureInstalled()
    {
        var dir = IdxDataset.FashionMnistDirectory;
        if (Directory.Exists(dir) && Directory.EnumerateFiles(dir, "*idx*").Any()) return dir;
        if (Environment.UserName != "root" && Environment.GetEnvironmentVariable("USER") != "root")
            throw new InvalidOperationException($"Fashion-MNIST is not installed ({dir} is missing): run `sudo apt-get install dataset-fashion-mnist`, or pass --source DIR with the IDX files");
        Log.Information("Fashion-MNIST is not installed: installing the Debian package dataset-fashion-mnist");
        if (Run("apt-get", "install -y -q dataset-fashion-mnist") != 0)
        {
            Run("apt-get", "update -q");
            if (Run("apt-get", "install -y -q dataset-fashion-mnist") != 0)
                throw new InvalidOperationException("apt-get could not install dataset-fashion-mnist; install it by hand or pass --source DIR");
        }
        if (!Directory.Exists(dir)) throw new InvalidOperationException($"dataset-fashion-mnist installed but {dir} is missing");
        return dir;
    }

    private static int Run(string file, string arguments)
    {
        var psi = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) Log.Debug("{File}: {Line}", file, e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Log.Debug("{File}: {Line}", file, e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.WaitForExit();
        return process.ExitCode;
    }
}
