using System.Collections.Concurrent;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using BitActors.Actors.Cluster;
using BitActors.Actors.FineTuning;
using BitActors.Actors.Hosting;
using BitActors.Actors.Tests.Fakes;
using BitActors.Actors.Training;
using BitActors.Streams.Images;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Tests;

/// <summary>
/// A failure that repeats ends instead of looping: a run supervisor that throws on every try is restarted at most
/// <c>bitactors.supervision.max-restarts</c> times and the run fails naming the exception; a device slot's fine-tune
/// worker that throws on every try ends as a failed task with its cause, never restarted in place.
/// </summary>
public sealed class EndlessRestartTests() : TestKit(BitActorsConfig.Reference())
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(30);

    private sealed class Collector : ReceiveActor
    {
        public Collector(BlockingCollection<object> seen) => ReceiveAny(seen.Add);
    }

    /// <summary>Answers a finished backbone with an outcome list that is null: the supervisor throws handling it, each time.</summary>
    private sealed class PoisonDispatcher : ReceiveActor
    {
        public PoisonDispatcher() => Receive<BackboneReady>(_ => Context.Parent.Tell(new AllTasksFinished(null!)));
    }

    [Fact]
    public async Task ARunSupervisorThatThrowsOnEveryTryIsRestartedAtMostItsBudgetThenTheRunFailsNamingTheCause()
    {
        var config = BitActorsConfig.Load(null, ["bitactors.supervision.max-restarts=1"], new Dictionary<string, string>());
        using var host = BitActorsHost.Start(config, "endless");
        var run = new RunSpec("endless-run", new KafkaEndpoint("unused:9092"), Path.Combine(Path.GetTempPath(), "bitactors-endless"),
            new UpstreamSettings
            {
                Data = new() { Dataset = "synthetic", Classes = ClassSubset.Range(0, 2), Augment = new AugmentSettings(4, 4, 1), ShuffleBuffer = 4, DecodeParallelism = 1 },
                Model = new("Tiny"),
                Schedule = new() { BatchSize = 8, Steps = 4 },
            },
            new FineTuneSettings { Recipe = new() { BatchSize = 8, BaseLr = 0.003 }, Data = new() { Augment = null, ShuffleBuffer = 8, DecodeParallelism = 1, EvalBatchSize = 64 } }, []);
        var data = new SyntheticUpstreamData();
        var seen = new BlockingCollection<object>();

        var supervisor = host.StartRun(run, Props.Create(() => new Collector(seen)),
            reporter => TrainingSupervisor.Props(run, reporter, FakeTrainer.Factory(new TrainerLog()), data, (_, _) => Props.Create(() => new PoisonDispatcher())));

        var told = new List<object>();
        RunFailed? failed = null;
        while (failed is null && seen.TryTake(out var m, Soon))
        {
            told.Add(m);
            failed = m as RunFailed;
        }
        Assert.NotNull(failed);
        Assert.Contains(told, m => m is WatchRun w && w.Supervisor.Equals(supervisor)); // the reporter watches the run
        Assert.StartsWith("the run's supervisor failed 2 time(s), last with ArgumentNullException", failed.Reason);
        Assert.Equal(2, data.Reads); // the first try and one restart, each training to the end, then no more
        await Task.Delay(500);
        Assert.Equal(2, data.Reads);
        await host.StopAsync();
    }

    [Fact]
    [Trait("Category", "EndToEnd")]
    public async Task AFineTuneWorkerThatThrowsOnEveryTryEndsAsAFailedTaskOnItsDeviceInsteadOfLooping()
    {
        await using var data = await PublishedDataset.CreateAsync(Sys, "poison", train: 40, test: 10);
        var store = ArtifactStore.At(Path.Combine(data.Output.FullName, "store"));
        var backbone = store.PathOf("run-p/backbone.bin");
        File.WriteAllBytes(backbone, [1, 2, 3]);
        var log = new TrainerLog();
        var fineTune = new FineTuneSettings
        {
            Recipe = new() { BatchSize = 8, BaseLr = 0.003, MaxSteps = 4 },
            Data = new() { Augment = new AugmentSettings(16, 16, 1), ShuffleBuffer = 16, DecodeParallelism = 1, EvalBatchSize = 64 },
        };
        var coordinator = CreateTestProbe();
        Sys.ActorOf(DeviceSlot.Props(coordinator.Ref, "cpu", new TrainerNodeSettings("node-a", data.Kafka.Endpoint, fineTune, store, CheckpointEvery: 0,
            TimeSpan.FromSeconds(1)), FakeTrainer.Factory(log)), "slot-poison");
        coordinator.ExpectMsg<RequestWork>(Soon);

        // An architecture no node knows: the worker throws in its handler every time its data is ready.
        var task = ClusterTask.Of(new FineTuneTask("poison-task", "poison", ClassSubset.Range(0, 5), null, 0, FromScratch: false));
        coordinator.Reply(new WorkAssigned("run-p", task, 1, new ClusterBackbone(store.Describe(backbone), "NoSuchArch", 1, "gn", true), null));

        var failed = coordinator.FishForMessage<TaskFailed>(m => m is TaskFailed, Soon);
        Assert.Equal(("poison-task", 1), (failed.TaskId, failed.Attempt));
        Assert.Contains("NoSuchArch", failed.Reason);
        coordinator.Reply(new TaskSettled("poison-task"));
        coordinator.FishForMessage<RequestWork>(m => m is RequestWork, Soon); // the slot is free again
        lock (log) Assert.Empty(log.ResumedFrom);
    }
}
