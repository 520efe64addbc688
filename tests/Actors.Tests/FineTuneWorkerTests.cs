using Akka.TestKit.Xunit2;
using BitActors.Actors.FineTuning;
using BitActors.Actors.Hosting;
using BitActors.Actors.Tests.Fakes;
using BitActors.Streams.Images;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Tests;

/// <summary>
/// A fine-tune task's worker on data held in memory (no Kafka) with a fake trainer: it draws 3 shots of each of 5 classes,
/// sizes the run by the HyperRule (its 500 steps squeezed into 12: phase changes before steps 2, 6, 8 and 11), has its
/// loop restart a failed trainer from the task's own checkpoint, and reports the completed task to its parent.
/// </summary>
public sealed class FineTuneWorkerTests() : TestKit(BitActorsConfig.Reference())
{
    [Fact]
    public void AFewShotTaskTrainsTheHyperRulesStepsResumesFromItsOwnCheckpointAndReportsTheResult()
    {
        var data = new InMemoryFineTuneData();
        var log = new TrainerLog();
        lock (log) log.FailAt.Add(7);
        var folder = Directory.CreateTempSubdirectory("bitactors-worker");
        var task = new FineTuneTask("transfer-3shot", "memory", ClassSubset.Range(5, 5), 3, 0, FromScratch: false);
        var augment = new AugmentSettings(16, 16, 1);
        var attempt = new FineTuneAttempt("worker-run", new KafkaEndpoint("unused:9092"),
            new FineTuneSettings
            {
                Recipe = new() { BatchSize = 8, BaseLr = 0.003, MaxSteps = 12 },
                Data = new() { Augment = augment, ShuffleBuffer = 16, DecodeParallelism = 1, EvalBatchSize = 64 },
                Loop = new() { ProgressEvery = 100, MaxRestarts = 1, RestartBackoffSeconds = 0.05 },
            },
            "cpu", task, new GivenBackbone(Path.Combine(folder.FullName, "backbone.bin"), "Tiny", 1),
            next => Path.Combine(folder.FullName, $"step{next}.bin"), Path.Combine(folder.FullName, "model.bin"));
        var reporter = CreateTestProbe();
        try
        {
            ChildActorOf(FineTuneWorker.Props(attempt, reporter.Ref, FakeTrainer.Factory(log), data));

            var completed = ExpectMsg<FineTuneCompleted>(TimeSpan.FromSeconds(60));

            Assert.Equal((15, 12), (completed.Examples, completed.Steps));
            Assert.Equal(InMemoryFineTuneData.Evaluation, completed.Test);
            Assert.Equal(Path.Combine(folder.FullName, "model.bin"), completed.Checkpoint.Path);
            Assert.Equal(3, completed.HyperParameters["shots"]);
            Assert.Equal(1, data.Reads);
            var restarted = reporter.FishForMessage<TrainerRestarted>(m => m is TrainerRestarted, TimeSpan.FromSeconds(5));
            Assert.Equal(("transfer-3shot", 1, 6), (restarted.Task, restarted.Attempt, restarted.FromStep));
            lock (log)
            {
                Assert.Equal([0, 1, 2, 3, 4, 5, 6, 6, 7, 8, 9, 10, 11], log.Steps.Select(s => s.Step));
                Assert.Equal(new int?[] { 2, 6, 8, 11, null }, log.Checkpoints.ToArray());
                Assert.Equal(Path.Combine(folder.FullName, "step6.bin"), log.ResumedFrom[1]);
            }
            Assert.Empty(data.Rejected);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
