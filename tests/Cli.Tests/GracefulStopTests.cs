using System.Diagnostics;
using BitActors.Streams.Tests;

namespace BitActors.Cli.Tests;

[Collection(SignalTestsCollection.Name)]
public class GracefulStopTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Fact]
    [Trait("Category", "EndToEnd")]
    public async Task SigintDuringARunWritesACheckpointAndExitsNamingItForResume()
    {
        var source = TestData.WriteIdx(train: 200, test: 20, size: 16);
        var work = Directory.CreateTempSubdirectory("bitactors-stop");
        try
        {
            using var broker = new CliProcess("kafka", "up");
            var bootstrap = (await broker.WaitForLineAsync("bootstrap=", Timeout))["bootstrap=".Length..];
            var publish = await CliProcess.RunAsync(Timeout, "publish", "--dataset", "stoptest", "--format", "idx", "--source", source.FullName, "--bootstrap-servers", bootstrap);
            Assert.True(publish.ExitCode == 0, publish.Stderr);
            var config = Path.Combine(work.FullName, "run.conf");
            File.WriteAllText(config, """
                bitactors.upstream { dataset = stoptest, classes = [0, 1, 2, 3, 4], arch = Tiny, channels = 1, batch-size = 8, steps = 100000, precrop = 16, crop = 16,
                  shuffle-buffer = 16, decode-parallelism = 1, progress-every = 1 }
                """);

            using var run = CliProcess.AsFromATerminal("run", "--bootstrap-servers", bootstrap, "--dataset", "stoptest", "--config", config, "--output", work.FullName);
            await run.WaitForStderrAsync("[upstream] step 3/100000", Timeout);
            Process.Start("kill", $"-INT {run.Id}")!.WaitForExit();
            int code;
            try { code = await run.WaitForExitAsync(Timeout); }
            catch (TaskCanceledException) { throw new TimeoutException($"no exit within {Timeout} of SIGINT. stdout: {run.Stdout} stderr: {run.Stderr}"); }

            Assert.True(code == 130, $"exit {code}. stdout: {run.Stdout} stderr: {run.Stderr}");
            var resume = run.Stdout.Split('\n').Single(l => l.StartsWith("resume with: ./bitactors run", StringComparison.Ordinal));
            var checkpoint = resume.Split("--resume ")[1].Split(' ')[0];
            Assert.True(File.Exists(checkpoint), $"{checkpoint} missing");
            Assert.True(File.Exists(checkpoint + ".sha256"));
            Assert.Matches(@"-upstream-step\d+\.bin$", checkpoint);
            Assert.Contains("stopped (SIGINT) at step", run.Stdout);
            // The run folder is written on a stop too: summary naming the checkpoint, metrics, plots, the JSON log.
            var folder = run.Stdout.Split('\n').Single(l => l.StartsWith("run folder: ", StringComparison.Ordinal))["run folder: ".Length..].Trim();
            Assert.Contains($"resume with `--resume {checkpoint}`", File.ReadAllText(Path.Combine(folder, "summary.md")));
            Assert.True(File.ReadAllLines(Path.Combine(folder, "metrics.jsonl")).Length >= 3);
            Assert.True(File.Exists(Path.Combine(folder, "plots", "loss.png")));
            Assert.Contains("\"@mt\"", File.ReadAllText(Path.Combine(folder, "log.json")));

            // The advice works: the same command with --resume goes on from that step; SIGTERM stops it the same way.
            int step = int.Parse(System.Text.RegularExpressions.Regex.Match(checkpoint, @"step(\d+)\.bin$").Groups[1].Value);
            var args = resume["resume with: ./bitactors ".Length..].Split(' ');
            using var resumed = new CliProcess(args);
            await resumed.WaitForStderrAsync($"[upstream] step {step + 2}/100000", Timeout);
            Assert.Contains($"resuming from {checkpoint}: step {step}", resumed.Stderr);
            Assert.DoesNotContain($"[upstream] step {step}/100000", resumed.Stderr);  // no step before the checkpoint's is trained again
            Process.Start("kill", $"-TERM {resumed.Id}")!.WaitForExit();
            Assert.Equal(143, await resumed.WaitForExitAsync(Timeout));
            Assert.Contains("stopped (SIGTERM)", resumed.Stdout);
        }
        finally
        {
            source.Delete(true);
            work.Delete(true);
        }
    }
}
