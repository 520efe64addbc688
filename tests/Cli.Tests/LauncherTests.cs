using System.Diagnostics;
using System.Text.Json;

namespace BitActors.Cli.Tests;

/// <summary>
/// The launcher (./bitactors) on a machine that claims a GPU: a fake <c>nvidia-smi</c> first on PATH lists one. Where
/// no usable CUDA libtorch is found it says why in one line and runs the CPU build (artifacts/cli, built once and
/// reused: no test here builds the GPU variant); without a GPU, or with BITACTORS_DEVICE=cpu, it says nothing. And a CLI
/// that dies on a signal gets one line saying which and what it was doing.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class LauncherTests : IDisposable
{
    private static readonly string Root = FindRoot();
    private readonly DirectoryInfo work = Directory.CreateTempSubdirectory("bitactors-launcher");

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "BitActors.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException($"no BitActors.sln above {AppContext.BaseDirectory}");
    }

    public void Dispose() => work.Delete(recursive: true);

    [Fact]
    public async Task AGpuWithoutAPyTorchWithCudaFallsBackToTheCpuBuildInOneLine()
    {
        // A Python whose torch is the CPU build: torch/lib without libtorch_cuda.so.
        var torch = Directory.CreateDirectory(Path.Combine(work.FullName, "site-packages", "torch", "lib"));
        File.WriteAllText(Path.Combine(torch.FullName, "libtorch_cpu.so"), "");
        var python = Script("python", $"echo {torch.Parent!.FullName}");

        var (lines, info) = await LaunchAsync(new() { ["PATH"] = GpuPath("GPU 0: Fake GPU 80GB (UUID: GPU-0)"), ["BITACTORS_PYTHON"] = python });
        Assert.Equal($"bitactors: GPU found (Fake GPU 80GB), but no PyTorch with CUDA (torch/lib/libtorch_cuda.so) for {python} " +
            "(BITACTORS_LIBTORCH=DIR names one): running on CPU", Assert.Single(lines));
        Assert.Equal(507029, info.GetProperty("parameters").GetInt64());
    }

    [Fact]
    public async Task ANamedLibtorchWithoutCudaFallsBackToo()
    {
        var (lines, _) = await LaunchAsync(new() { ["PATH"] = GpuPath("GPU 0: Fake GPU (UUID: GPU-0)"), ["BITACTORS_LIBTORCH"] = work.FullName });
        Assert.Equal($"bitactors: GPU found (Fake GPU), but BITACTORS_LIBTORCH={work.FullName} has no libtorch_cuda.so: running on CPU", Assert.Single(lines));
    }

    [Fact]
    public async Task APyTorchOlderThanTorchSharpsLibtorchIsNotUsed()
    {
        var torch = Directory.CreateDirectory(Path.Combine(work.FullName, "torch"));
        var lib = torch.CreateSubdirectory("lib");
        File.WriteAllText(Path.Combine(lib.FullName, "libtorch_cuda.so"), "");
        File.WriteAllText(Path.Combine(torch.FullName, "version.py"), "from typing import Optional\n__version__ = '1.13.1+cu117'\ncuda: Optional[str] = '11.7'\n");
        var (lines, _) = await LaunchAsync(new() { ["PATH"] = GpuPath("GPU 0: Fake GPU (UUID: GPU-0)"), ["BITACTORS_LIBTORCH"] = lib.FullName });
        Assert.Equal($"bitactors: GPU found (Fake GPU), but PyTorch 1.13.1+cu117 at {lib.FullName} is older than libtorch 2.10, which TorchSharp 0.107 needs: running on CPU",
            Assert.Single(lines));
    }

    [Fact]
    public async Task WithoutAGpuOrWithBitactorsDeviceCpuTheLauncherSaysNothing()
    {
        // nvidia-smi without a device (as a driver with no GPU answers), then a GPU with the CPU build asked for.
        var (none, _) = await LaunchAsync(new() { ["PATH"] = GpuPath("No devices were found", exitCode: 6) });
        Assert.Empty(none);
        var (forced, _) = await LaunchAsync(new() { ["PATH"] = GpuPath("GPU 0: Fake GPU (UUID: GPU-0)"), ["BITACTORS_DEVICE"] = "cpu" });
        Assert.Empty(forced);
    }

    [Fact]
    public async Task ACliKilledByASignalLeavesOneLineSayingWhatItWasDoing()
    {
        // Training that would run for hours; the launcher keeps its breadcrumb file in TMPDIR, this test's folder.
        var psi = new ProcessStartInfo(Path.Combine(Root, "bitactors"),
            ["bench", "train", "--arch", "Tiny", "--batch", "2", "--resolution", "32", "--steps", "1000000", "--warmup", "0", "--device", "cpu"])
            { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Root };
        foreach (var name in new[] { "BITACTORS_LIBTORCH", "BITACTORS_PYTHON" }) psi.Environment.Remove(name);
        psi.Environment["BITACTORS_DEVICE"] = "cpu";
        psi.Environment["TMPDIR"] = work.FullName;
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            // The first launch of a checkout builds the CLI; then the CLI records each step's phases.
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(10);
            while (!Directory.GetFiles(work.FullName, "bitactors-breadcrumb.*").Any(f => BitActors.Model.Training.Breadcrumb.Read(f).Contains("step 3")))
            {
                if (process.HasExited) Assert.Fail($"the launcher ended first (exit {process.ExitCode}): {await stderr}");
                Assert.True(DateTime.UtcNow < deadline, "no training step recorded in 10 minutes");
                await Task.Delay(100);
            }
            // The CLI is the launcher's only child (its subshell execs dotnet). SIGFPE, as oneDNN's division by zero
            // raised it. The .NET runtime takes the first one sent from outside, restores the default action and
            // returns (a real fault then happens again and kills the process); so it is sent until the process ends.
            var cli = int.Parse(File.ReadAllText($"/proc/{process.Id}/task/{process.Id}/children").Trim());
            for (int i = 0; i < 100 && !process.HasExited; i++)
            {
                kill(cli, 8); // SIGFPE
                await Task.Delay(200);
            }
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        var errors = await stderr;
        await stdout;
        Assert.Equal(136, process.ExitCode);
        var line = Assert.Single(errors.Split('\n'), l => l.StartsWith("bitactors: killed", StringComparison.Ordinal));
        Assert.Matches(@"^bitactors: killed by SIGFPE \(exit 136\) during: (after step \d+|step \d+ (forward|backward|update)), Tiny batch 2 at 32 px on cpu$", line);
        Assert.Empty(Directory.GetFiles(work.FullName, "bitactors-breadcrumb.*"));
    }

    [Fact]
    public async Task CtrlCThroughTheLauncherStopsTheCli()
    {
        // A terminal's Ctrl-C sends SIGINT to the launcher and its child alike: the child (started in the background)
        // must not have inherited SIGINT as ignored, or it would serve on forever.
        var psi = new ProcessStartInfo(Path.Combine(Root, "bitactors"), ["kafka", "up"])
            { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Root };
        psi.Environment["BITACTORS_DEVICE"] = "cpu";
        psi.Environment["TMPDIR"] = work.FullName;
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(10); // the first launch of a checkout builds the CLI
            string? line;
            while ((line = await process.StandardOutput.ReadLineAsync()) is not null && !line.StartsWith("bootstrap=", StringComparison.Ordinal))
                Assert.True(DateTime.UtcNow < deadline, "kafka up printed no bootstrap line");
            Assert.NotNull(line);
            var cli = int.Parse(File.ReadAllText($"/proc/{process.Id}/task/{process.Id}/children").Trim());
            kill(process.Id, 2);
            kill(cli, 2); // SIGINT
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        Assert.Contains("embedded Kafka stopped", await stderr);
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    private string Script(string name, string body)
    {
        var path = Path.Combine(work.FullName, name);
        File.WriteAllText(path, $"#!/bin/sh\n{body}\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    /// <summary>PATH with a fake nvidia-smi first, answering <c>-L</c> with <paramref name="listing"/>.</summary>
    private string GpuPath(string listing, int exitCode = 0)
    {
        var bin = Directory.CreateDirectory(Path.Combine(work.FullName, "bin-" + Guid.NewGuid().ToString("N")[..8]));
        File.Move(Script("nvidia-smi", $"echo '{listing}'\nexit {exitCode}"), Path.Combine(bin.FullName, "nvidia-smi"));
        return $"{bin.FullName}:{Environment.GetEnvironmentVariable("PATH")}";
    }

    /// <summary>
    /// Runs <c>./bitactors model info --arch Tiny --classes 5 --json</c>; returns the launcher's own lines on stderr (not
    /// the build's: the first run of a checkout builds the CPU CLI) and the command's JSON.
    /// </summary>
    private static async Task<(List<string> Lines, JsonElement Info)> LaunchAsync(Dictionary<string, string> environment)
    {
        var psi = new ProcessStartInfo(Path.Combine(Root, "bitactors"), ["model", "info", "--arch", "Tiny", "--classes", "5", "--json"])
            { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Root };
        foreach (var name in new[] { "BITACTORS_DEVICE", "BITACTORS_LIBTORCH", "BITACTORS_PYTHON" }) psi.Environment.Remove(name);
        foreach (var (name, value) in environment) psi.Environment[name] = value;
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        await process.WaitForExitAsync(timeout.Token);
        var (output, errors) = (await stdout, await stderr);
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {errors}");
        var lines = errors.Split('\n').Where(l => l.StartsWith("bitactors: ", StringComparison.Ordinal) && !l.StartsWith("bitactors: building", StringComparison.Ordinal)).ToList();
        return (lines, JsonDocument.Parse(output).RootElement);
    }
}
