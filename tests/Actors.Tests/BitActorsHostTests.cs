using System.Collections.Concurrent;
using Akka.Actor;
using BitActors.Actors.Hosting;
using BitActors.Actors.Training;
using BitActors.Streams.Images;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Tests;

public class BitActorsHostTests
{
    private sealed class Collector : ReceiveActor
    {
        public Collector(BlockingCollection<object> seen) => ReceiveAny(seen.Add);
    }

    [Fact]
    public async Task TheHostStartsTheSystemFromTheLayeredConfigurationAndRegistersARunsActors()
    {
        var config = BitActorsConfig.Load(null, ["bitactors.upstream.steps=7"], new Dictionary<string, string>());
        using var host = BitActorsHost.Start(config, "hosted");
        Assert.Equal(7, host.System.Settings.Config.GetInt("bitactors.upstream.steps"));
        Assert.Contains("SerilogLogger", string.Join(",", host.System.Settings.Config.GetStringList("akka.loggers")));

        // A run whose given backbone is missing fails at once, without Kafka: enough to see the wiring.
        var missing = Path.Combine(Path.GetTempPath(), $"no-such-backbone-{Guid.NewGuid():N}.npz");
        var run = new RunSpec("hosted-run", new KafkaEndpoint("127.0.0.1:1"), Path.GetTempPath(),
            new UpstreamSettings
            {
                Data = new() { Dataset = "d", Classes = ClassSubset.Range(0, 2), Augment = new AugmentSettings(16, 16, 1), ShuffleBuffer = 8, DecodeParallelism = 1 },
                Model = new("Tiny"),
                Schedule = new() { BatchSize = 8, Steps = 4, BaseLrPer256 = 0.1, WarmupFraction = 0.1 },
                Seed = 0,
            },
            new FineTuneSettings { Recipe = new() { BatchSize = 8, BaseLr = 0.003 }, Data = new() { Augment = null, ShuffleBuffer = 8, DecodeParallelism = 1, EvalBatchSize = 64 } }, [], Backbone: new GivenBackbone(missing, "Tiny", 1));
        var seen = new BlockingCollection<object>();
        var supervisor = host.StartRun(run, Props.Create(() => new Collector(seen)));

        Assert.Equal(supervisor, await host.Registry.GetAsync<TrainingSupervisor>());
        Assert.Equal($"reporter-{run.RunId}", (await host.Registry.GetAsync<BitActorsHost.RunReporterKey>()).Path.Name);
        RunFailed? failed = null;
        while (failed is null && seen.TryTake(out var m, TimeSpan.FromSeconds(20))) failed = m as RunFailed;
        Assert.NotNull(failed);
        Assert.Contains($"cannot use backbone {missing}", failed.Reason);

        // A second run in the same host (demo --study norm runs four): its actors take the registry's keys.
        var second = run with { RunId = "hosted-run-2" };
        var secondSupervisor = host.StartRun(second, Props.Create(() => new Collector(seen)));
        Assert.Equal(secondSupervisor, await host.Registry.GetAsync<TrainingSupervisor>());
        Assert.Equal($"reporter-{second.RunId}", (await host.Registry.GetAsync<BitActorsHost.RunReporterKey>()).Path.Name);

        await host.StopAsync();
        Assert.True(host.System.WhenTerminated.IsCompleted);
    }
}
