using Akka.Actor;
using Akka.TestKit.Xunit2;
using BitActors.Actors.Cluster;
using BitActors.Actors.FineTuning;
using BitActors.Actors.Hosting;
using BitActors.Actors.Tests.Fakes;
using BitActors.Actors.Training;
using BitActors.Model.Architecture;
using BitActors.Model.Checkpoints;
using BitActors.Streams.Images;
using BitActors.Streams.Pipelines;
using static BitActors.Actors.Tests.Cluster.CoordinatorTestKit;

namespace BitActors.Actors.Tests.Cluster;

/// <summary>
/// The coordinator and two real device slots of one actor system, the slots' fine-tune workers training with fake
/// trainers (told apart by seed, on devices cuda:0 and cuda:1) on the embedded broker. One task's trainer fails once
/// at step 7: the task goes to the other device and resumes from its step-6 checkpoint. One task's trainer fails
/// wherever it runs: after two failed attempts, one on each device, it is announced as failed once. The third task
/// completes untouched.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class FailingTrainerSlotTests() : TestKit(BitActorsConfig.Reference())
{
    [Fact]
    public async Task ATaskWhoseTrainerFailsIsRetriedOnTheOtherDeviceFromItsCheckpointAndOneFailingEverywhereIsAnnouncedFailedOnce()
    {
        await using var data = await PublishedDataset.CreateAsync(Sys, "slots", train: 200, test: 20);
        var store = ArtifactStore.At(Path.Combine(data.Output.FullName, "store"));
        var backbone = Path.Combine(data.Output.FullName, "backbone.bin");
        using (var model = new ResNetV2(KnownModels.Get("Tiny", 1), 5)) CheckpointFiles.Save(model, backbone);
        var logs = new Dictionary<int, TrainerLog> { [0] = new() { WriteFiles = true }, [1] = new() { WriteFiles = true }, [2] = new() { WriteFiles = true } };
        lock (logs[1]) logs[1].FailAt.Add(7);
        lock (logs[2]) logs[2].AlwaysFailAt = 3;
        var built = new List<(int Seed, string Device, string? ResumeFrom)>();
        Func<TrainerSpec, Props> trainers = spec =>
        {
            lock (built) built.Add((spec.Seed, spec.Device, spec.ResumeFrom));
            return Props.Create(() => new FakeTrainer(spec, logs[spec.Seed]));
        };

        // 15 examples: the HyperRule's 500 steps squeezed into 12: checkpoints before steps 2, 6, 8 and 11 (phase changes) and 5 and 10.
        var job = new ClusterJob("run-s", new GivenBackbone(backbone, "Tiny", 1),
            new TaskPlan("slots", ClassSubset.Range(5, 5), [3], [0, 1, 2]).Tasks(), MaxAttempts: 2);
        var fineTune = new FineTuneSettings { Recipe = new() { BatchSize = 8, BaseLr = 0.003, MaxSteps = 12 }, Data = new() { Augment = new AugmentSettings(16, 16, 1), ShuffleBuffer = 16, DecodeParallelism = 1, EvalBatchSize = 64 }, Loop = new() { ProgressEvery = 100, MaxRestarts = 2, RestartBackoffSeconds = 0.05 } }; // restarts in place are the one-process worker's: a device does none
        var coordinator = Sys.ActorOf(FineTuneCoordinator.Props(job, data.Kafka.Endpoint, store), "coordinator");
        foreach (var (node, device) in new[] { ("node-a", "cuda:0"), ("node-b", "cuda:1") })
            Sys.ActorOf(DeviceSlot.Props(coordinator, device,
                new TrainerNodeSettings(node, data.Kafka.Endpoint, fineTune, store, CheckpointEvery: 5, TimeSpan.FromSeconds(1)), trainers), $"slot-{node}");

        await AwaitAssertAsync(() => Assert.Equal(4, Announced(data.Kafka.BootstrapServers).Count), TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(500));
        await Task.Delay(1000);
        var events = Announced(data.Kafka.BootstrapServers);
        Assert.Equal(["bit.backbone.ready", "bit.finetune.completed", "bit.finetune.completed", "bit.finetune.failed"], events.Select(e => e.Type).Order());
        var failed = Assert.Single(events, e => e.Type == "bit.finetune.failed");
        Assert.Equal("run-s/transfer-3shot-seed2", failed.Subject);
        Assert.StartsWith("2 attempts failed", failed.Data.GetProperty("reason").GetString());
        Assert.Contains("NaN at step 3", failed.Data.GetProperty("reason").GetString());
        var retried = Assert.Single(events, e => e.Subject == "run-s/transfer-3shot-seed1").Data.GetProperty("hyperparameters");
        Assert.Equal((2, 6), (retried.GetProperty("attempt").GetInt32(), retried.GetProperty("resumed_from_step").GetInt32()));
        var untouched = Assert.Single(events, e => e.Subject == "run-s/transfer-3shot-seed0").Data.GetProperty("hyperparameters");
        Assert.Equal((1, 0), (untouched.GetProperty("attempt").GetInt32(), untouched.GetProperty("resumed_from_step").GetInt32()));

        lock (built)
        {
            // One trainer per attempt (none restarted in place), each retry on the other device.
            Assert.Single(built, b => b.Seed == 0);
            var seed1 = built.Where(b => b.Seed == 1).ToList();
            Assert.Equal(2, seed1.Count);
            Assert.NotEqual(seed1[0].Device, seed1[1].Device);
            Assert.Null(seed1[0].ResumeFrom);
            Assert.Equal(Path.Combine(store.Root, "run-s", "tasks", "transfer-3shot-seed1", "attempt1-step6.bin"), seed1[1].ResumeFrom);
            var seed2 = built.Where(b => b.Seed == 2).ToList();
            Assert.Equal(2, seed2.Count);
            Assert.NotEqual(seed2[0].Device, seed2[1].Device);
        }
        lock (logs[1]) Assert.Equal([0, 1, 2, 3, 4, 5, 6, 6, 7, 8, 9, 10, 11], logs[1].Steps.Select(s => s.Step));
    }
}
