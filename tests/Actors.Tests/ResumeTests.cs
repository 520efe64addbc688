using Akka.Actor;
using Akka.Streams;
using Akka.TestKit.Xunit2;
using BitActors.Actors.Hosting;
using BitActors.Actors.Training;
using BitActors.Streams.Datasets;
using BitActors.Streams.Images;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;
using BitActors.Streams.Tests;
using Xunit.Abstractions;

namespace BitActors.Actors.Tests;

[Trait("Category", "EndToEnd")]
public sealed class ResumeTests(ITestOutputHelper output) : TestKit(BitActorsConfig.Reference())
{
    [Fact]
    public async Task AResumedUpstreamRunRepeatsTheUninterruptedRunsLossesStepForStep()
    {
        await using var data = await PublishedDataset.CreateAsync(Sys, "resume", train: 300, test: 50);
        var kafka = data.Kafka;
        var outputDir = data.Output;
        var upstream = new UpstreamSettings
        {
            Data = new() { Dataset = "resume", Classes = ClassSubset.Range(0, 5), Augment = new AugmentSettings(18, 16, 1), ShuffleBuffer = 64, DecodeParallelism = 2 },
            Model = new("Tiny"),
            Schedule = new() { BatchSize = 16, Steps = 16, BaseLrPer256 = 0.1, WarmupFraction = 0.25 },
            Loop = new() { ProgressEvery = 1, CheckpointEvery = 8, KeepCheckpoints = 100 }, // the step-8 checkpoint is resumed from below
            Seed = 4,
        };
        var fineTune = new FineTuneSettings { Recipe = new() { BatchSize = 8, BaseLr = 0.003 }, Data = new() { Augment = null, ShuffleBuffer = 8, DecodeParallelism = 1, EvalBatchSize = 64 } };

        var full = Run(new RunSpec("full", kafka.Endpoint, outputDir.FullName, upstream, fineTune, []), out var checkpoints);
        var checkpoint = checkpoints.Single(c => c.NextStep == 8).Path;
        var resumed = Run(new RunSpec("resumed", kafka.Endpoint, outputDir.FullName, upstream, fineTune, [], ResumeFrom: checkpoint), out _);

        Assert.Equal(Enumerable.Range(1, 16), full.Keys.Order());
        Assert.Equal(Enumerable.Range(9, 8), resumed.Keys.Order());   // steps 9..16 after resuming at 8
        output.WriteLine("step  uninterrupted  resumed   lr");
        foreach (var step in resumed.Keys.Order())
        {
            output.WriteLine($"{step,4}  {full[step].Loss,13:F6}  {resumed[step].Loss,8:F6}  {full[step].LearningRate:G3}");
            Assert.Equal(full[step].LearningRate, resumed[step].LearningRate, 12);
            Assert.Equal(full[step].Loss, resumed[step].Loss, 4);
        }

        // The checkpoint remembers its schedule and data: a run with another batch size may not continue it.
        var probe = CreateTestProbe();
        Sys.ActorOf(TrainingSupervisor.Props(new RunSpec("other", kafka.Endpoint, outputDir.FullName, upstream with { Schedule = upstream.Schedule with { BatchSize = 8 } }, fineTune, [],
            ResumeFrom: checkpoint), probe.Ref), "supervisor-other");
        var refused = probe.FishForMessage<RunFailed>(m => m is RunFailed, TimeSpan.FromMinutes(1));
        Assert.Contains("batch 16 vs 8", refused.Reason);
        Assert.Contains(checkpoint, refused.Reason);
    }

    private Dictionary<int, TrainingProgress> Run(RunSpec run, out List<TrainingCheckpointed> checkpoints)
    {
        var probe = CreateTestProbe();
        Sys.ActorOf(TrainingSupervisor.Props(run, probe.Ref), $"supervisor-{run.RunId}");
        var progress = new Dictionary<int, TrainingProgress>();
        var saved = new List<TrainingCheckpointed>();
        probe.FishForMessage(m =>
        {
            switch (m)
            {
                case TrainingProgress p: progress[p.Step] = p; break;
                case TrainingCheckpointed c: saved.Add(c); break;
                case RunFailed f: throw new InvalidOperationException(f.Reason);
            }
            return m is RunCompleted;
        }, TimeSpan.FromMinutes(3));
        checkpoints = saved;
        return progress;
    }
}
