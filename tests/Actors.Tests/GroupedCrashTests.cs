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
/// A trainer that crashes in grouped mode: the model goes back to its last checkpoint, and so must the group's reading,
/// or the records pulled since that checkpoint are never trained on in their epoch.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class GroupedCrashTests() : TestKit(BitActorsConfig.Reference())
{
    /// <summary>The images each trainer trained on at each step, by their shade (image i is uniformly i); one crash at <c>CrashAt</c>.</summary>
    private sealed class TrainedImages(int crashAt)
    {
        public int CrashesLeft = 1;
        public readonly int CrashAt = crashAt;
        public readonly List<(int Trainer, int Step, byte[] Shades)> Steps = [];
        public int Trainers;
    }

    private sealed class ShadeTrainer : ReceiveActor
    {
        private static readonly Dictionary<float, byte> ShadeOf = Enumerable.Range(0, 256).ToDictionary(v => Augment.ToFloats([(byte)v])[0], v => (byte)v);

        public ShadeTrainer(TrainedImages log)
        {
            int id;
            lock (log) id = ++log.Trainers;
            Receive<TrainOn>(m =>
            {
                lock (log)
                {
                    if (m.Step == log.CrashAt && log.CrashesLeft-- > 0) throw new ArithmeticException($"loss became NaN at step {m.Step}");
                    int per = (int)(m.Batch.Shape[1] * m.Batch.Shape[2] * m.Batch.Shape[3]);
                    log.Steps.Add((id, m.Step, Enumerable.Range(0, m.Batch.Count).Select(i => ShadeOf[m.Batch.Pixels[i * per]]).ToArray()));
                }
                Sender.Tell(new StepResult(m.Step, m.LearningRate, 1.0, 0.5, m.Batch.Count));
            });
            Receive<SaveCheckpoint>(m => Sender.Tell(new CheckpointSaved(new CheckpointFiles.Saved(m.Path, 1, new string('0', 64), "fake"), m.NextStep)));
            Receive<EvaluateOn>(m => Sender.Tell(EvaluationPartial.Of(new BatchEvaluation(0, 0, 0, new long[m.Batch.Count]), m.Batch.Labels)));
        }
    }

    [Fact]
    public async Task AfterATrainerCrashEachEpochTrainsEveryRecordOfTheGroupExactlyOnce()
    {
        // 200 images, uniformly shaded 0..199, labels i % 10: classes 0-4 make an epoch of 100 records, 10 batches of 10.
        await using var data = await PublishedDataset.CreateAsync(Sys, "exact", train: 200, test: 20, pixels: i => Enumerable.Repeat((byte)i, 256).ToArray());
        var run = new RunSpec("exact-run", data.Kafka.Endpoint, data.Output.FullName,
            new UpstreamSettings
            {
                // A shuffle buffer of 1 keeps the group's order, so the records trained in a row make whole epochs.
                Data = new() { Dataset = "exact", Classes = ClassSubset.Range(0, 5), Augment = new AugmentSettings(16, 16, 1), ShuffleBuffer = 1, DecodeParallelism = 2, ConsumerGroup = "exact" },
                Model = new("Tiny"),
                Schedule = new() { BatchSize = 10, Steps = 30, BaseLrPer256 = 0.1, WarmupFraction = 0.1 },
                Loop = new() { ProgressEvery = 10, CheckpointEvery = 4, MaxRestarts = 2, RestartBackoffSeconds = 0.1, CheckpointAtPhaseChange = false },
                Seed = 0,
            },
            new FineTuneSettings { Recipe = new() { BatchSize = 8, BaseLr = 0.003 }, Data = new() { Augment = null, ShuffleBuffer = 8, DecodeParallelism = 1, EvalBatchSize = 64 } }, []);
        var log = new TrainedImages(crashAt: 14);
        var reporter = CreateTestProbe();
        Sys.ActorOf(TrainingSupervisor.Props(run, reporter.Ref, _ => Props.Create(() => new ShadeTrainer(log))), "supervisor");

        var restarted = reporter.FishForMessage<TrainerRestarted>(m => m is TrainerRestarted, TimeSpan.FromMinutes(2));
        Assert.Equal(12, restarted.FromStep);
        Assert.IsType<RunCompleted>(reporter.FishForMessage<object>(m => m is RunCompleted or RunFailed, TimeSpan.FromMinutes(2)));

        // What the final model was trained on: steps 0-11 by the first trainer, 12-29 by the second (resumed from step 12).
        List<byte> trained;
        lock (log) trained = log.Steps.GroupBy(s => s.Step).OrderBy(g => g.Key).SelectMany(g => g.MaxBy(s => s.Trainer).Shades).ToList();
        Assert.Equal(300, trained.Count);
        var epoch = Enumerable.Range(0, 200).Where(i => i % 10 < 5).Select(i => (byte)i).ToHashSet();
        for (int e = 0; e < 3; e++)
        {
            var records = trained.Skip(e * 100).Take(100).ToList();
            Assert.True(records.ToHashSet().SetEquals(epoch) && records.Count == 100,
                $"epoch {e}: {records.Distinct().Count()} distinct records of 100, {records.Count - records.Distinct().Count()} trained twice, " +
                $"{epoch.Except(records).Count()} never");
        }
    }
}
