using Akka.Actor;
using Akka.TestKit.Xunit2;
using BitActors.Actors.Hosting;
using BitActors.Actors.Training;
using BitActors.Model.Checkpoints;
using BitActors.Model.Training;
using BitActors.Streams.Images;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Tests;

/// <summary>
/// The broker goes away during training: the run waits, goes on when the broker is back, and every image
/// of the task is trained on exactly once per epoch. A fake trainer (no model) records what it is fed.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class BrokerOutageTrainingTests() : TestKit(BitActorsConfig.Reference())
{
    /// <summary>3 s by default; BITACTORS_TEST_OUTAGE_SECONDS=10 runs the 10-second outages.</summary>
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(
        double.TryParse(Environment.GetEnvironmentVariable("BITACTORS_TEST_OUTAGE_SECONDS"), out var s) ? s : 3);

    /// <summary>
    /// The images a trainer was fed, each by a fingerprint that a horizontal flip does not change (its rows'
    /// pixel values, sorted): with crop = image size, the flip is all that augmentation changes.
    /// </summary>
    private sealed class Fed
    {
        public readonly List<string> Images = new();
        public int Steps;
    }

    private sealed class RecordingTrainer : ReceiveActor
    {
        public RecordingTrainer(TrainerSpec spec, Fed fed, Action<int> onStep)
        {
            Receive<TrainOn>(m =>
            {
                lock (fed)
                {
                    fed.Steps++;
                    int per = (int)(m.Batch.Shape[1] * m.Batch.Shape[2] * m.Batch.Shape[3]), width = (int)m.Batch.Shape[3];
                    for (int i = 0; i < m.Batch.Count; i++)
                        fed.Images.Add(string.Join("|", m.Batch.Pixels.AsSpan(i * per, per).ToArray().Chunk(width)
                            .Select(row => string.Join(",", row.Order().Select(v => v.ToString("F4"))))));
                }
                onStep(m.Step);
                Sender.Tell(new StepResult(m.Step, m.LearningRate, 1.0, 0.5, m.Batch.Count));
            });
            Receive<SaveCheckpoint>(m => Sender.Tell(new CheckpointSaved(new CheckpointFiles.Saved(m.Path, 1, new string('0', 64), "fake"), m.NextStep)));
            Receive<EvaluateOn>(m => Sender.Tell(EvaluationPartial.Of(new BatchEvaluation(0, 0, 0, new long[m.Batch.Count]), m.Batch.Labels)));
        }
    }

    [Fact]
    public async Task TrainingStartedWhileTheBrokerIsDownAndInterruptedByAnOutageGoesOnAndSeesEachImageOncePerEpoch()
    {
        // 80 images, 40 of them in classes 0-4; batch 8 and 10 steps = exactly 2 epochs; no shuffling, so
        // the first 80 samples are those two epochs.
        await using var data = await PublishedDataset.CreateAsync(Sys, "outage", train: 80, test: 20);
        var spec = new RunSpec("outage", data.Kafka.Endpoint, data.Output.FullName,
            new UpstreamSettings
            {
                Data = new() { Dataset = data.Name, Classes = ClassSubset.Range(0, 5), Augment = new AugmentSettings(16, 16, 1), ShuffleBuffer = 1, DecodeParallelism = 2 },
                Model = new("Tiny"),
                Schedule = new() { BatchSize = 8, Steps = 10, BaseLrPer256 = 0.1, WarmupFraction = 0.1 },
                Loop = new() { ProgressEvery = 1 },
                Seed = 0,
            },
            new FineTuneSettings { Recipe = new() { BatchSize = 8, BaseLr = 0.003 }, Data = new() { Augment = null, ShuffleBuffer = 8, DecodeParallelism = 1, EvalBatchSize = 64 } }, []);
        var fed = new Fed();
        var outages = new List<Task>();
        async Task OutageAsync()
        {
            data.Kafka.SetAllBrokersDown();
            await Task.Delay(Outage);
            data.Kafka.SetAllBrokersUp();
        }
        // The broker is down when the run starts, and again in the middle of the run.
        outages.Add(OutageAsync());
        Action<int> onStep = step => { if (step == 4) lock (outages) outages.Add(Task.Run(OutageAsync)); };
        var reporter = CreateTestProbe();
        Sys.ActorOf(TrainingSupervisor.Props(spec, reporter.Ref, s => Props.Create(() => new RecordingTrainer(s, fed, onStep))));

        var ended = reporter.FishForMessage(m => m is RunCompleted or RunFailed, TimeSpan.FromMinutes(2));
        var completed = Assert.IsType<RunCompleted>(ended);
        lock (outages) Assert.Equal(2, outages.Count);
        await Task.WhenAll(outages);
        Assert.Equal(10, completed.Backbone.Steps);
        lock (fed)
        {
            Assert.Equal(10, fed.Steps);
            Assert.Equal(80, fed.Images.Count);
            // 40 different images, each exactly twice: nothing lost, nothing counted twice in an epoch.
            var counts = fed.Images.GroupBy(f => f).Select(g => g.Count()).ToList();
            Assert.Equal(40, counts.Count);
            Assert.All(counts, c => Assert.Equal(2, c));
            Assert.Equal(40, fed.Images.Take(40).Distinct().Count());
        }
    }
}
