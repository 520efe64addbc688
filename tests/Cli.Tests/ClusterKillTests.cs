using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using BitActors.Streams.Tests;
using Xunit.Abstractions;

namespace BitActors.Cli.Tests;

/// <summary>
/// The cluster as users run it, in separate processes on loopback: the embedded broker (`kafka up`), one
/// coordinator node and two trainer nodes (`node`), four tiny fine-tune tasks. One trainer is killed with SIGKILL
/// in the middle of a task, right after the coordinator recorded that task's checkpoint at step 20; the split-brain
/// resolver downs the dead node, its task resumes from that checkpoint on the other trainer, and bit.models (read
/// by kcat, an independent consumer) holds exactly one completed event per task. The same with the upstream
/// pre-training as the first task: killed after its checkpoint at step 40, it resumes there on the other trainer.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed partial class ClusterKillTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);
    private static readonly string[] Tasks = ["transfer-2shot-seed0", "transfer-2shot-seed1", "transfer-3shot-seed0", "transfer-3shot-seed1"];

    [Fact]
    public async Task ATrainerKilledMidTaskLosesNoTaskAndEveryTaskCompletesOnce()
    {
        await InClusterAsync(async (source, dir, processes) =>
        {
            var backbone = Path.Combine(dir, "backbone.bin");
            var export = await CliProcess.RunAsync(Timeout, "model", "export", "--arch", "Tiny", "--classes", "5", "--channels", "1", "--seed", "1", "--output", backbone);
            Assert.True(export.ExitCode == 0, export.Stderr);
            var (bootstrap, coordinator, victim, survivor, victimAddress, survivorAddress) = await StartClusterAsync(processes, source, dir, $$"""
                bitactors.finetune { batch-size = 8, precrop = 18, crop = 16, max-steps = 120, decode-parallelism = 1, eval-batch-size = 64, shuffle-buffer = 64 }
                bitactors.cluster.job { backbone = "{{backbone}}", arch = "Tiny", channels = 1, dataset = "tiny", classes = [5, 6, 7, 8, 9], shots = [2, 3], seeds = [0, 1] }
                """);

            // The coordinator holds a checkpoint at step 20 of the victim's task: kill the victim there, mid-task.
            var checkpointed = await WaitForAsync(() => CheckpointLine().Matches(coordinator.Stderr)
                .FirstOrDefault(m => m.Groups["step"].Value == "20" && m.Groups["node"].Value == victimAddress), coordinator);
            var lostTask = checkpointed.Groups["task"].Value;
            Process.Start("kill", $"-KILL {victim.Id}")!.WaitForExit();
            var killedAt = DateTimeOffset.UtcNow;
            output.WriteLine($"{killedAt:HH:mm:ss.fff} SIGKILL to the trainer at {victimAddress}, in task {lostTask} (checkpoint at step 20 recorded)");

            var events = await WaitForAsync(() =>
            {
                var read = ReadModels(bootstrap);
                return read.Count(e => e.Type == "bit.finetune.completed") >= Tasks.Length ? read : null;
            }, coordinator);
            await WaitForAsync(() => coordinator.Stderr.Contains($"all {Tasks.Length} task(s) settled") ? "" : null, coordinator);
            events = ReadModels(bootstrap); // again, after the coordinator has settled everything: no late duplicates

            Assert.DoesNotContain(events, e => e.Type == "bit.finetune.failed");
            var completed = events.Where(e => e.Type == "bit.finetune.completed").ToList();
            Assert.Equal(Tasks, completed.Select(e => e.Data.GetProperty("task").GetString()!).Order());
            foreach (var e in completed)
            {
                var checkpoint = e.Data.GetProperty("checkpoint");
                Assert.Equal(checkpoint.GetProperty("sha256").GetString(), Sha256(new Uri(checkpoint.GetProperty("uri").GetString()!).LocalPath));
            }
            var resumed = Assert.Single(completed, e => e.Data.GetProperty("task").GetString() == lostTask).Data.GetProperty("hyperparameters");
            Assert.Equal(2, resumed.GetProperty("attempt").GetInt32());
            Assert.True(resumed.GetProperty("resumed_from_step").GetInt32() >= 20, resumed.ToString());
            Assert.Contains($"{lostTask} attempt 2 → {survivorAddress}", coordinator.Stderr);
            Assert.Matches($@"task {Regex.Escape(lostTask)} attempt 2: \d+ examples, 120 steps, resumed from step \d+", survivor.Stderr);

            // The decisions, as the coordinator and the surviving trainer logged them (the cluster's leader, which
            // runs the split-brain resolver, is whichever node has the lowest address).
            output.WriteLine("from the kill on (C = coordinator, S = surviving trainer):");
            var logged = coordinator.Stderr.Split('\n').Select(l => "C " + l).Concat(survivor.Stderr.Split('\n').Select(l => "S " + l))
                .Where(l => l.Length > 10 && TimelineLine().IsMatch(l) && string.CompareOrdinal(l[2..10], $"{killedAt:HH:mm:ss}") >= 0)
                .OrderBy(l => l[2..10], StringComparer.Ordinal);
            foreach (var line in logged) output.WriteLine("  " + line.TrimEnd());
            foreach (var e in completed.OrderBy(e => e.Time))
                output.WriteLine($"{e.Time:HH:mm:ss.fff} (+{(e.Time - killedAt).TotalSeconds:F1} s) bit.finetune.completed {e.Data.GetProperty("task").GetString()} " +
                    $"attempt {e.Data.GetProperty("hyperparameters").GetProperty("attempt").GetInt32()}");
        });
    }

    [Fact]
    public async Task AnUpstreamRunWhoseTrainerIsKilledResumesOnTheOtherTrainerFromItsCheckpoint()
    {
        await InClusterAsync(async (source, dir, processes) =>
        {
            var (bootstrap, coordinator, first, second, firstAddress, secondAddress) = await StartClusterAsync(processes, source, dir, """
                bitactors.upstream { dataset = tiny, classes = [0, 1, 2, 3, 4], arch = Tiny, batch-size = 16, steps = 100, precrop = 18, crop = 16, channels = 1,
                  shuffle-buffer = 64, decode-parallelism = 1, checkpoint-every = 20, progress-every = 50 }
                bitactors.finetune { batch-size = 8, precrop = 18, crop = 16, max-steps = 30, decode-parallelism = 1, eval-batch-size = 64, shuffle-buffer = 64 }
                bitactors.cluster.job { upstream = true, dataset = "tiny", classes = [5, 6, 7, 8, 9], shots = [2], seeds = [0, 1] }
                """);

            // Whichever trainer pulled the upstream task is killed once the coordinator holds its checkpoint at step 40.
            var checkpointed = await WaitForAsync(() => CheckpointLine().Matches(coordinator.Stderr)
                .FirstOrDefault(m => m.Groups["task"].Value == "upstream" && m.Groups["step"].Value == "40"), coordinator);
            var victimAddress = checkpointed.Groups["node"].Value;
            var (victim, survivor, survivorAddress) = victimAddress == firstAddress ? (first, second, secondAddress) : (second, first, firstAddress);
            Process.Start("kill", $"-KILL {victim.Id}")!.WaitForExit();
            var killedAt = DateTimeOffset.UtcNow;
            output.WriteLine($"{killedAt:HH:mm:ss.fff} SIGKILL to the trainer at {victimAddress}, in the upstream run (checkpoint at step 40 recorded)");

            await WaitForAsync(() => coordinator.Stderr.Contains("all 3 task(s) settled") ? "" : null, coordinator);
            // The coordinator logs "settled" before the last event's produce is acknowledged: wait for the events.
            var events = await WaitForAsync(() =>
            {
                var read = ReadModels(bootstrap);
                return read.Count(e => e.Type == "bit.finetune.completed") >= 2 ? read : null;
            }, coordinator);
            var backbone = Assert.Single(events, e => e.Type == "bit.backbone.ready");
            Assert.Equal(100, backbone.Data.GetProperty("steps").GetInt32());
            Assert.Equal("upstream", backbone.Data.GetProperty("source").GetString());
            var checkpoint = backbone.Data.GetProperty("checkpoint");
            Assert.Equal(checkpoint.GetProperty("sha256").GetString(), Sha256(new Uri(checkpoint.GetProperty("uri").GetString()!).LocalPath));
            Assert.Contains($"upstream attempt 2 → {survivorAddress}", coordinator.Stderr);
            Assert.Matches(@"resuming from \S+-upstream-step40\.bin: step 40", survivor.Stderr);
            var completed = events.Where(e => e.Type == "bit.finetune.completed").Select(e => e.Data.GetProperty("task").GetString()!).Order();
            Assert.Equal(["transfer-2shot-seed0", "transfer-2shot-seed1"], completed);
            foreach (var e in events.OrderBy(e => e.Time))
                output.WriteLine($"{e.Time:HH:mm:ss.fff} (+{(e.Time - killedAt).TotalSeconds:F1} s) {e.Type} {e.Data.GetProperty("task").GetString()}");
        });
    }

    /// <summary>
    /// `kafka up`, the small dataset published as `tiny`, a coordinator (the seed) and two trainers on loopback, all
    /// with <paramref name="settings"/> over the cluster's own (seed address, fast split-brain decision, artifact store).
    /// </summary>
    private static async Task<(string Bootstrap, CliProcess Coordinator, CliProcess First, CliProcess Second, string FirstAddress, string SecondAddress)> StartClusterAsync(
        List<CliProcess> processes, DirectoryInfo source, string dir, string settings)
    {
        var broker = Start(processes, "kafka", "up");
        var bootstrap = (await broker.WaitForLineAsync("bootstrap=", Timeout))["bootstrap=".Length..];
        var publish = await CliProcess.RunAsync(Timeout, "publish", "--dataset", "tiny", "--format", "idx", "--source", source.FullName, "--bootstrap-servers", bootstrap);
        Assert.True(publish.ExitCode == 0, publish.Stderr);
        var seedPort = FreePorts.One();
        var config = Path.Combine(dir, "node.conf");
        File.WriteAllText(config, settings + $$"""

            bitactors.cluster {
              seed-nodes = ["akka.tcp://bitactors@127.0.0.1:{{seedPort}}"]
              split-brain-resolver.stable-after = 3s
              artifacts = "{{new Uri(Path.Combine(dir, "store")).AbsoluteUri}}"
              trainer { checkpoint-every = 10, request-interval = 2s }
            }
            """);
        string[] Node(string roles, int port) => ["node", "--roles", roles, "--config", config, "--port", port.ToString(), "--bootstrap-servers", bootstrap];
        var coordinator = Start(processes, Node("coordinator", seedPort));
        await coordinator.WaitForLineAsync("node=", Timeout);
        var first = Start(processes, Node("trainer", 0));
        var second = Start(processes, Node("trainer", 0));
        const string prefix = "node=akka.tcp://bitactors@";
        var firstAddress = (await first.WaitForLineAsync("node=", Timeout))[prefix.Length..];
        var secondAddress = (await second.WaitForLineAsync("node=", Timeout))[prefix.Length..];
        return (bootstrap, coordinator, first, second, firstAddress, secondAddress);
    }

    /// <summary>
    /// Runs a test's cluster: a tiny IDX dataset and a folder of its own, the processes it starts; on failure every
    /// process's stderr goes to the test output; whatever happens, the processes are ended and the files removed.
    /// </summary>
    private async Task InClusterAsync(Func<DirectoryInfo, string, List<CliProcess>, Task> test)
    {
        var source = TestData.WriteIdx(train: 200, test: 60, size: 16);
        var dir = Directory.CreateTempSubdirectory("bitactors-cluster").FullName;
        var processes = new List<CliProcess>();
        try
        {
            await test(source, dir, processes);
        }
        catch
        {
            foreach (var p in processes) output.WriteLine($"--- process {p.Id} stderr:\n{p.Stderr}");
            throw;
        }
        finally
        {
            foreach (var p in processes) p.Dispose();
            source.Delete(true);
            Directory.Delete(dir, recursive: true);
        }
    }

    private static CliProcess Start(List<CliProcess> processes, params string[] args)
    {
        var process = new CliProcess(args);
        processes.Add(process);
        return process;
    }


    private static async Task<T> WaitForAsync<T>(Func<T?> probe, CliProcess coordinator) where T : class
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (probe() is { } found) return found;
            await Task.Delay(200);
        }
        throw new TimeoutException($"the cluster did not get there in {Timeout.TotalSeconds:F0} s; coordinator: {coordinator.Stderr}");
    }

    private sealed record ModelRecord(string Type, DateTimeOffset Time, JsonElement Data);

    /// <summary>Everything on bit.models, read by kcat.</summary>
    private static List<ModelRecord> ReadModels(string bootstrap)
    {
        using var kcat = Process.Start(new ProcessStartInfo("kcat", $"-C -b {bootstrap} -t bit.models -e -q -J") { RedirectStandardOutput = true })!;
        var lines = kcat.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        kcat.WaitForExit();
        return lines.Select(l => JsonDocument.Parse(l).RootElement).Select(e =>
        {
            var headers = e.GetProperty("headers").EnumerateArray().Select(h => h.GetString()!).ToList();
            string Header(string name) => headers[headers.IndexOf(name) + 1];
            return new ModelRecord(Header("ce_type"), DateTimeOffset.Parse(Header("ce_time")), JsonDocument.Parse(e.GetProperty("payload").GetString()!).RootElement);
        }).ToList();
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    [GeneratedRegex(@"task (?<task>\S+): checkpoint at step (?<step>\d+) from (?<node>\S+)")]
    private static partial Regex CheckpointLine();

    [GeneratedRegex(@"SBR (found|took|is downing)|Member removed|is gone|attempt \d+ →|settled|as UNREACHABLE|resumed from step", RegexOptions.IgnoreCase)]
    private static partial Regex TimelineLine();
}
