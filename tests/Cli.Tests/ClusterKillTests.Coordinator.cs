using System.Diagnostics;
using System.Text.RegularExpressions;
using BitActors.Streams.Tests;

namespace BitActors.Cli.Tests;

public sealed partial class ClusterKillTests
{
    /// <summary>
    /// The coordinator's node is killed during the upstream pre-training, which its own trainer device runs: the
    /// singleton moves to the other coordinator node, which reads the progress record in the artifact store and has
    /// the upstream resumed from its last checkpoint on the remaining trainer (not from the start), then fans out the
    /// backbone; one backbone event and one completed event per task.
    /// </summary>
    [Fact]
    public async Task ACoordinatorKilledDuringTheUpstreamRunHasItResumedFromItsCheckpointByTheNextCoordinator()
    {
        await InClusterAsync(async (source, dir, processes) =>
        {
            var broker = Start(processes, "kafka", "up");
            var bootstrap = (await broker.WaitForLineAsync("bootstrap=", Timeout))["bootstrap=".Length..];
            var publish = await CliProcess.RunAsync(Timeout, "publish", "--dataset", "tiny", "--format", "idx", "--source", source.FullName, "--bootstrap-servers", bootstrap);
            Assert.True(publish.ExitCode == 0, publish.Stderr);
            var seedPort = FreePorts.One();
            var config = Path.Combine(dir, "node.conf");
            File.WriteAllText(config, $$"""
                bitactors.upstream { dataset = tiny, classes = [0, 1, 2, 3, 4], arch = Tiny, batch-size = 16, steps = 100, precrop = 18, crop = 16, channels = 1,
                  shuffle-buffer = 64, decode-parallelism = 1, checkpoint-every = 20, progress-every = 50 }
                bitactors.finetune { batch-size = 8, precrop = 18, crop = 16, max-steps = 30, decode-parallelism = 1, eval-batch-size = 64, shuffle-buffer = 64 }
                bitactors.cluster {
                  seed-nodes = ["akka.tcp://bitactors@127.0.0.1:{{seedPort}}"]
                  split-brain-resolver.stable-after = 3s
                  artifacts = "{{new Uri(Path.Combine(dir, "store")).AbsoluteUri}}"
                  trainer { checkpoint-every = 10, request-interval = 2s }
                  job { upstream = true, dataset = "tiny", classes = [5, 6, 7, 8, 9], shots = [2], seeds = [0, 1] }
                }
                """);
            string[] Node(string roles, int port) => ["node", "--roles", roles, "--config", config, "--port", port.ToString(), "--bootstrap-servers", bootstrap];
            const string prefix = "node=akka.tcp://bitactors@";

            // The first node (the oldest coordinator: it hosts the singleton) is the only trainer when the job starts,
            // so its own device runs the upstream; the second coordinator and the second trainer join after that.
            var first = Start(processes, Node("coordinator,trainer", seedPort));
            var firstAddress = (await first.WaitForLineAsync("node=", Timeout))[prefix.Length..];
            await WaitForAsync(() => first.Stderr.Contains($"upstream attempt 1 → {firstAddress}") ? "" : null, first);
            var next = Start(processes, Node("coordinator", 0));
            await next.WaitForLineAsync("node=", Timeout);
            var trainer = Start(processes, Node("trainer", 0));
            var trainerAddress = (await trainer.WaitForLineAsync("node=", Timeout))[prefix.Length..];

            await WaitForAsync(() => CheckpointLine().Matches(first.Stderr)
                .FirstOrDefault(m => m.Groups["task"].Value == "upstream" && int.Parse(m.Groups["step"].Value) >= 40), first);
            Process.Start("kill", $"-KILL {first.Id}")!.WaitForExit();
            output.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} SIGKILL to the coordinator at {firstAddress}, which ran the upstream (checkpoint at step 40 or later recorded)");

            await WaitForAsync(() => next.Stderr.Contains("all 3 task(s) settled") ? "" : null, next);
            var events = await WaitForAsync(() =>
            {
                var read = ReadModels(bootstrap);
                return read.Count(e => e.Type == "bit.finetune.completed") >= 2 ? read : null;
            }, next);
            var resumed = Regex.Match(trainer.Stderr, @"resuming from \S+-upstream-step(?<step>\d+)\.bin: step \k<step>");
            Assert.True(resumed.Success, trainer.Stderr);
            Assert.True(int.Parse(resumed.Groups["step"].Value) >= 40, resumed.Value);
            Assert.Matches($@"upstream attempt 2 → {Regex.Escape(trainerAddress)} \S+, resuming from step {resumed.Groups["step"].Value}", next.Stderr);
            Assert.DoesNotContain("upstream attempt 1 →", next.Stderr);
            var backbone = Assert.Single(events, e => e.Type == "bit.backbone.ready");
            Assert.Equal(100, backbone.Data.GetProperty("steps").GetInt32());
            Assert.Equal(["transfer-2shot-seed0", "transfer-2shot-seed1"],
                events.Where(e => e.Type == "bit.finetune.completed").Select(e => e.Data.GetProperty("task").GetString()!).Order());
            Assert.DoesNotContain(events, e => e.Type == "bit.finetune.failed");
        });
    }
}
