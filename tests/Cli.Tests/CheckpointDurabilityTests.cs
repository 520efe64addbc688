using System.Diagnostics;

namespace BitActors.Cli.Tests;

/// <summary>
/// A checkpoint survives a power loss: its bytes are on disk before the rename that publishes it, and the rename is on
/// disk after (an fsync of the folder). Seen from outside with strace (Debian's strace, installed by run-tests): the
/// system calls of `model export`, which writes through the same code as every checkpoint and training state.
/// </summary>
public class CheckpointDurabilityTests
{
    [Fact]
    public async Task ACheckpointAndItsHashAreFsyncedBeforeTheirRenamesAndTheFolderAfter()
    {
        var dir = Directory.CreateTempSubdirectory("bitactors-durable").FullName;
        try
        {
            var (output, trace) = (Path.Combine(dir, "tiny.bin"), Path.Combine(dir, "strace.txt"));
            var psi = new ProcessStartInfo("strace") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "-f", "-y", "-qq", "--seccomp-bpf", "-e", "trace=fsync,fdatasync,rename,renameat,renameat2", "-o", trace,
                "dotnet", Path.Combine(AppContext.BaseDirectory, "bitactors.dll"),
                "model", "export", "--arch", "Tiny", "--classes", "3", "--channels", "1", "--seed", "1", "--output", output })
                psi.ArgumentList.Add(a);
            using var process = Process.Start(psi)!;
            var stderr = process.StandardError.ReadToEndAsync();
            await process.StandardOutput.ReadToEndAsync();
            using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2))) await process.WaitForExitAsync(timeout.Token);
            Assert.True(process.ExitCode == 0, await stderr);

            var lines = File.ReadAllLines(trace);
            int Index(Func<string, bool> match, string what)
            {
                var i = Array.FindIndex(lines, l => match(l));
                Assert.True(i >= 0, $"no {what} in the trace:\n{string.Join('\n', lines)}");
                return i;
            }
            bool Fsync(string line, string path) => line.Contains("sync(", StringComparison.Ordinal) && line.Contains($"<{path}>) = 0", StringComparison.Ordinal);
            bool Rename(string line, string from) => line.Contains("rename", StringComparison.Ordinal) && line.Contains($"\"{from}\"", StringComparison.Ordinal);

            foreach (var file in new[] { output, output + ".sha256" })
            {
                var synced = Index(l => Fsync(l, file + ".partial"), $"fsync of {file}.partial");
                var renamed = Index(l => Rename(l, file + ".partial"), $"rename of {file}.partial");
                Assert.True(synced < renamed, $"{file}: fsync at line {synced}, rename at line {renamed}");
                var folder = Array.FindIndex(lines, renamed, l => Fsync(l, dir));
                Assert.True(folder > renamed, $"{file}: no fsync of {dir} after its rename:\n{string.Join('\n', lines)}");
            }
        }
        finally { Directory.Delete(dir, true); }
    }
}
