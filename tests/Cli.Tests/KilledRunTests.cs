using System.Text.Json;
using BitActors.Model.Checkpoints;
using BitActors.Streams.Tests;

namespace BitActors.Cli.Tests;

/// <summary>
/// A demo killed with SIGKILL in the middle of its upstream run: every checkpoint it left verifies, and a
/// run resumed from its last checkpoint trains on exactly the data the uninterrupted run did (its losses,
/// step for step, are the uninterrupted run's).
/// </summary>
[Trait("Category", "EndToEnd")]
[Collection(SignalTestsCollection.Name)]
public sealed class KilledRunTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);
    // 48 steps (over a second on 2 cores) remain after the step-16 checkpoint: the kill lands in the upstream run.
    private const int Steps = 64, Every = 8, KillAfter = 16, Batch = 16;
    private readonly DirectoryInfo work = Directory.CreateTempSubdirectory("bitactors-killed");
    private readonly DirectoryInfo source = TestData.WriteIdx(train: 240, test: 50);

    private string Config()
    {
        var path = Path.Combine(work.FullName, "tiny.conf");
        File.WriteAllText(path, $$"""
            bitactors {
              upstream { steps = {{Steps}}, checkpoint-every = {{Every}}, progress-every = 1, batch-size = {{Batch}}, shuffle-buffer = 64, decode-parallelism = 2 }
              demo {
                shots = [1]
                seeds = [0]
                finetune { max-steps = 2, batch-size = 8, eval-batch-size = 64 }
              }
            }
            """);
        return path;
    }

    private string[] Demo(string output, params string[] more) =>
        ["demo", "--config", Config(), "--source", source.FullName, "--output", Path.Combine(work.FullName, output), .. more];

    /// <summary>Upstream loss per step (1-based) from a run's metrics.jsonl.</summary>
    private static Dictionary<int, double> UpstreamLosses(string output)
    {
        var metrics = Directory.GetFiles(output, "metrics.jsonl", SearchOption.AllDirectories).Single();
        return File.ReadLines(metrics).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("task").GetString() == "upstream" && !(e.TryGetProperty("kind", out var kind) && kind.GetString() == "test"))
            .ToDictionary(e => e.GetProperty("step").GetInt32(), e => e.GetProperty("loss").GetDouble());
    }

    [Fact]
    public async Task ADemoKilledWithSigkillResumesFromItsLastCheckpointAndTrainsOnExactlyTheSameData()
    {
        var whole = await CliProcess.RunAsync(Timeout, Demo("whole"));
        Assert.True(whole.ExitCode == 0, whole.Stderr);
        var expected = UpstreamLosses(Path.Combine(work.FullName, "whole"));
        Assert.Equal(Enumerable.Range(1, Steps), expected.Keys.Order());

        // Killed (SIGKILL: no shutdown, no flush) as soon as the step-16 checkpoint is complete.
        string checkpoint;
        using (var killed = new CliProcess(Demo("killed")))
        {
            var deadline = DateTime.UtcNow + Timeout;
            string? found = null;
            while (found is null && DateTime.UtcNow < deadline)
            {
                var folder = Path.Combine(work.FullName, "killed");
                found = Directory.Exists(folder)
                    ? Directory.GetFiles(folder, $"*-upstream-step{KillAfter}.bin.state.sha256", SearchOption.AllDirectories).SingleOrDefault()
                    : null;
                if (found is null) await Task.Delay(20);
            }
            Assert.True(found is not null, "no checkpoint: " + killed.Stderr);
            killed.Kill();
            Assert.Equal(137, await killed.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            checkpoint = found![..^".state.sha256".Length];
        }
        // Every checkpoint the killed run completed verifies against its hash.
        foreach (var hash in Directory.GetFiles(Path.Combine(work.FullName, "killed"), "*.sha256", SearchOption.AllDirectories))
            CheckpointFiles.VerifyHash(hash[..^".sha256".Length]);

        var resumed = await CliProcess.RunAsync(Timeout, Demo("resumed", "--resume", checkpoint));
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Contains($"step {KillAfter}, {KillAfter * Batch:N0} examples already seen", resumed.Stderr);
        var losses = UpstreamLosses(Path.Combine(work.FullName, "resumed"));
        Assert.Equal(Enumerable.Range(KillAfter + 1, Steps - KillAfter), losses.Keys.Order());
        foreach (var (step, loss) in losses) Assert.Equal(expected[step], loss);
    }

    public void Dispose()
    {
        work.Delete(true);
        source.Delete(true);
    }
}
