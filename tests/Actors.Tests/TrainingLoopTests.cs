using System.Diagnostics;
using Akka.Actor;
using Akka;
using Akka.Streams.Dsl;
using Akka.TestKit.Xunit2;
using BitActors.Actors.Hosting;
using BitActors.Actors.Tests.Fakes;
using BitActors.Actors.Training;
using BitActors.Model.Recipe;
using BitActors.Model.Training;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Tests;

/// <summary>
/// The training loop alone, as a child of the test (it tells its parent), with a fake trainer and endless synthetic
/// batches: 16 steps at batch 8 with lr 1.0, warmup 2 steps, ÷10 after steps 4, 8 and 12 (phase changes before 2, 5, 9, 13).
/// </summary>
public sealed class TrainingLoopTests() : TestKit(BitActorsConfig.Reference())
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private static readonly StepSchedule Schedule = StepSchedule.Upstream(8, 16, 0.125, 32, [1, 2, 3], 4);
    private static readonly EvaluationResult Evaluation = new(0.5, 1.0, 0.3, 4, [0.5, 0.5], []);

    private readonly List<int> _fedFrom = new();

    private TrainingPlan Plan(LoopSettings settings) => new("loop-run", "loop-task", new TrainerSpec { Model = new("Tiny"), InChannels = 1, Classes = 2, Training = new(Seed: 3) }, Schedule, settings,
        from =>
        {
            lock (_fedFrom) _fedFrom.Add(from);
            return Source.Repeat(new ImageBatch(new float[2 * 16], [2, 1, 4, 4], [0, 1]));
        },
        next => $"/tmp/loop-step{next}.bin", next => new TrainingPosition(Schedule, 8, next * 8L, "synthetic", 3), (null, 0),
        (_, _) => Task.FromResult(Evaluation), "/tmp/loop-model.bin");

    [Fact]
    public void ItCheckpointsEveryNStepsAndAtPhaseChangesButNotAtTheLastStepThenEvaluatesAndSaves()
    {
        var log = new TrainerLog();
        var reporter = CreateTestProbe();
        ChildActorOf(TrainingLoop.Props(Plan(new LoopSettings { CheckpointEvery = 4, CheckpointAtPhaseChange = true, ProgressEvery = 4, MaxRestarts = 2, RestartBackoffSeconds = 0.05 }), reporter.Ref, FakeTrainer.Factory(log)));

        var seen = new List<object>();
        FishForMessage(m => { seen.Add(m); return m is TrainingFinished; }, Wait);

        Assert.Equal([2, 4, 5, 8, 9, 12, 13], seen.OfType<TrainingCheckpointed>().Select(c => c.NextStep));
        Assert.Equal([0, 2, 5, 9, 13], seen.OfType<SchedulePhaseEntered>().Select(p => p.Step));
        Assert.Equal(16, Assert.Single(seen.OfType<ScheduleFinished>()).Steps);
        var finished = seen.OfType<TrainingFinished>().Single();
        Assert.Equal(Evaluation, finished.Test);
        Assert.Equal("/tmp/loop-model.bin", finished.Model.Path);
        Assert.Equal(15, finished.Last!.Step);
        lock (log)
        {
            Assert.Equal(Enumerable.Range(0, 16), log.Steps.Select(s => s.Step));
            Assert.Equal(new int?[] { 2, 4, 5, 8, 9, 12, 13, null }, log.Checkpoints.ToArray()); // the model last, weights only
        }
        var progress = new List<TrainingProgress>();
        reporter.FishForMessage(m => { if (m is TrainingProgress p) progress.Add(p); return m is TrainingProgress { Step: 16 }; }, Wait);
        Assert.Equal([4, 8, 12, 16], progress.Select(p => p.Step));
        Assert.All(progress, p => Assert.Equal(("loop-run", "loop-task"), (p.Run, p.Task)));
    }

    [Fact]
    public void AFailedTrainerIsReplacedAfterTheBackoffFromTheLastCheckpointWithTheDataReplayedToIt()
    {
        var log = new TrainerLog();
        lock (log) log.FailAt.Add(7);
        var reporter = CreateTestProbe();
        ChildActorOf(TrainingLoop.Props(Plan(new LoopSettings { CheckpointEvery = 0, CheckpointAtPhaseChange = true, ProgressEvery = 100, MaxRestarts = 2, RestartBackoffSeconds = 0.5 }), reporter.Ref, FakeTrainer.Factory(log)));

        var restarted = reporter.FishForMessage<TrainerRestarted>(m => m is TrainerRestarted, Wait);
        var clock = Stopwatch.StartNew();
        Assert.Equal(("loop-task", 1, 5), (restarted.Task, restarted.Attempt, restarted.FromStep)); // the decay-1 checkpoint
        Assert.Contains("NaN at step 7", restarted.Reason);
        AwaitCondition(() => { lock (log) return log.ResumedFrom.Count == 2; }, Wait, TimeSpan.FromMilliseconds(20));
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(350), $"restarted after {clock.Elapsed.TotalMilliseconds:F0} ms, before the 0.5 s backoff");
        FishForMessage(m => m is TrainingFinished, Wait);

        lock (log)
        {
            Assert.Equal([0, 1, 2, 3, 4, 5, 6, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], log.Steps.Select(s => s.Step));
            Assert.Equal("/tmp/loop-step5.bin", log.ResumedFrom[1]);
        }
        lock (_fedFrom) Assert.Equal([0, 5], _fedFrom);
    }

    [Fact]
    public void ATrainerThatKeepsFailingEndsTheLoopAfterMaxRestarts()
    {
        var log = new TrainerLog { AlwaysFailAt = 3 };
        var reporter = CreateTestProbe();
        ChildActorOf(TrainingLoop.Props(Plan(new LoopSettings { CheckpointEvery = 0, CheckpointAtPhaseChange = true, ProgressEvery = 100, MaxRestarts = 2, RestartBackoffSeconds = 0.01 }), reporter.Ref, FakeTrainer.Factory(log)));

        var failed = FishForMessage<TrainingFailed>(m => m is TrainingFailed, Wait);

        Assert.Equal("trainer failed at step 4 and was restarted 2 times already; last failure: loss became NaN at step 3", failed.Reason);
        Assert.Equal([1, 2], reporter.ReceiveWhile(TimeSpan.FromSeconds(1), m => m as TrainerRestarted).Select(r => r!.Attempt));
        lock (log) Assert.Equal(3, log.ResumedFrom.Count); // the first trainer and two restarts, each from the step-2 checkpoint
        lock (log) Assert.All(log.ResumedFrom.Skip(1), p => Assert.Equal("/tmp/loop-step2.bin", p));
    }

    [Fact]
    public void AStopCheckpointsTheStepAfterTheOneInFlightAndNamesIt()
    {
        var log = new TrainerLog();
        var loop = ChildActorOf(TrainingLoop.Props(Plan(new LoopSettings { CheckpointEvery = 0, CheckpointAtPhaseChange = true, ProgressEvery = 1, MaxRestarts = 2, RestartBackoffSeconds = 0.05 }) with
        {
            Batches = _ => Source.From(Enumerable.Repeat(new ImageBatch(new float[2 * 16], [2, 1, 4, 4], [0, 1]), 3)).Concat(Source.Never<ImageBatch>()),
        }, TestActor, FakeTrainer.Factory(log)));
        FishForMessage(m => m is TrainingProgress { Step: 3 }, Wait);

        loop.Tell(new StopTraining());

        var stopped = FishForMessage<TrainingStopped>(m => m is TrainingStopped, Wait);
        Assert.Equal((3, "/tmp/loop-step3.bin", (string?)null), (stopped.Step, stopped.Checkpoint, stopped.TrainerFailure));
    }

    [Fact]
    public void OnlyTheNewestCheckpointsAreKeptAndTheOneResumedFromInTheSameFolderIsPrunedWithThem()
    {
        var folder = Directory.CreateTempSubdirectory("bitactors-keep").FullName;
        var elsewhere = Directory.CreateTempSubdirectory("bitactors-given").FullName;
        try
        {
            // An earlier attempt's checkpoint in the run's folder, and a user's checkpoint elsewhere (never deleted).
            var earlier = Path.Combine(folder, "loop-step1.bin");
            var given = Path.Combine(elsewhere, "given.bin");
            foreach (var file in new[] { earlier, TrainingCheckpoint.StatePath(earlier), given, TrainingCheckpoint.StatePath(given) }) File.WriteAllBytes(file, [1]);

            foreach (var (startFrom, kept) in new[] { (earlier, new[] { 12, 13 }), (given, new[] { 12, 13 }) })
            {
                var log = new TrainerLog { WriteFiles = true };
                ChildActorOf(TrainingLoop.Props(Plan(new LoopSettings { CheckpointEvery = 4, KeepCheckpoints = 2, ProgressEvery = 100, MaxRestarts = 0 }) with
                {
                    CheckpointPath = next => Path.Combine(folder, $"loop-step{next}.bin"),
                    StartFrom = (startFrom, 1),
                }, CreateTestProbe().Ref, FakeTrainer.Factory(log)));
                FishForMessage(m => m is TrainingFinished, Wait);

                // Written at 2, 4, 5, 8, 9, 12, 13: only the newest two are left, each with its state.
                var left = Directory.GetFiles(folder).Select(Path.GetFileName).Order().ToArray();
                Assert.Equal(kept.SelectMany(s => new[] { $"loop-step{s}.bin", $"loop-step{s}.bin.state" }).Order(), left);
            }
            Assert.True(File.Exists(given) && File.Exists(TrainingCheckpoint.StatePath(given)));
        }
        finally
        {
            Directory.Delete(folder, true);
            Directory.Delete(elsewhere, true);
        }
    }
}
