using Akka.Actor;
using Akka.TestKit.Xunit2;
using BitActors.Actors.Hosting;
using BitActors.Actors.Tests.Fakes;
using BitActors.Actors.Training;
using BitActors.Streams.Images;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Tests;

/// <summary>
/// The supervisor's state machine, driven with a fake trainer and synthetic data (no Kafka, no tensors):
/// 16 steps at batch 8 with lr 32 × 8/256 = 1.0, warmup 2 steps, ÷10 after steps 4, 8 and 12.
/// </summary>
public sealed class TrainingSupervisorTests() : TestKit(BitActorsConfig.Reference())
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private static RunSpec Spec(string runId, int checkpointEvery = 0, double datasetWait = 0) => new(runId, new KafkaEndpoint("unused:9092"),
        Path.Combine(Path.GetTempPath(), "bitactors-supervisor-tests"),
        new UpstreamSettings
        {
            Data = new() { Dataset = "synthetic", Classes = ClassSubset.Range(0, 2), Augment = new AugmentSettings(4, 4, 1), ShuffleBuffer = 4, DecodeParallelism = 1, DatasetWaitSeconds = datasetWait },
            Model = new("Tiny"),
            Schedule = new() { BatchSize = 8, Steps = 16, BaseLrPer256 = 32, WarmupFraction = 0.125, DecayEpochs = [1, 2, 3], TotalEpochs = 4 },
            Loop = new() { ProgressEvery = 1, CheckpointEvery = checkpointEvery, MaxRestarts = 2, RestartBackoffSeconds = 0.05 },
            Seed = 0,
        },
        new FineTuneSettings { Recipe = new() { BatchSize = 8, BaseLr = 0.003 }, Data = new() { Augment = null, ShuffleBuffer = 8, DecodeParallelism = 1, EvalBatchSize = 64 } }, []);

    private IActorRef Start(RunSpec spec, IActorRef reporter, TrainerLog log, SyntheticUpstreamData data) =>
        Sys.ActorOf(TrainingSupervisor.Props(spec, reporter, FakeTrainer.Factory(log), data, EmptyDispatcher.Props));

    private static T[] Collected<T>(List<object> seen) => seen.OfType<T>().ToArray();

    /// <summary>Every message to the reporter up to and including the first <typeparamref name="TEnd"/>.</summary>
    private List<object> ReceiveUntil<TEnd>(Akka.TestKit.TestProbe reporter)
    {
        var seen = new List<object>();
        reporter.FishForMessage(m => { seen.Add(m); return m is TEnd; }, Wait);
        return seen;
    }

    [Fact]
    public void ARunGoesFromWaitingForTheDatasetThroughWarmupAndEachDecayPhaseToDone()
    {
        var log = new TrainerLog();
        var data = new SyntheticUpstreamData(unpublishedReads: 2);
        var reporter = CreateTestProbe();
        Start(Spec("phases", datasetWait: 10), reporter, log, data);

        var seen = ReceiveUntil<RunCompleted>(reporter);

        Assert.Equal(3, data.Reads);  // twice not published, then found
        var phases = Collected<PhaseChanged>(seen).Select(p => (p.Phase, p.Step, p.LearningRate)).ToArray();
        Assert.Equal(new (string, int, double?)[]
        {
            ("waiting-for-dataset", 0, null), ("warmup", 0, 0.0), ("base-lr", 2, 1.0), ("decay-1", 5, 0.1), ("decay-2", 9, 0.01),
            ("decay-3", 13, 0.001), ("evaluating", 16, null), ("fanning-out", 16, null), ("done", 16, null),
        }, phases.Select(p => (p.Phase, p.Step, Round(p.LearningRate))).ToArray());

        lock (log)
        {
            // The lr it hands out: linear warmup, the base rate, then ÷10 after each boundary (bit_hyperrule.get_lr).
            Assert.Equal(Enumerable.Range(0, 16).ToArray(), log.Steps.Select(s => s.Step).ToArray());
            Assert.Equal(new double?[] { 0, 0.5, 1, 1, 1, 0.1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.01, 0.001, 0.001, 0.001 },
                log.Steps.Select(s => Round(s.Lr)).ToArray());
            // Resumable checkpoints at each phase change, then the final backbone (no step: weights only).
            Assert.Equal(new int?[] { 2, 5, 9, 13, null }, log.Checkpoints.ToArray());
        }
        Assert.Equal([2, 5, 9, 13], Collected<TrainingCheckpointed>(seen).Select(c => c.NextStep));
        var completed = seen.OfType<RunCompleted>().Single();
        Assert.Equal(16, completed.Backbone.Steps);
        Assert.Equal(SyntheticUpstreamData.Evaluation, completed.Backbone.UpstreamTest);
        Assert.EndsWith("phases-upstream-Tiny.safetensors", completed.Backbone.Checkpoint.Path);
        Assert.Equal(16, Collected<TrainingProgress>(seen).Length);  // progress-every 1
    }

    [Fact]
    public void ACrashedTrainerIsReplacedFromTheLastPhaseCheckpointAndTheRunGoesOn()
    {
        var log = new TrainerLog();
        lock (log) log.FailAt.Add(7);
        var reporter = CreateTestProbe();
        Start(Spec("crash"), reporter, log, new SyntheticUpstreamData());

        var seen = ReceiveUntil<RunCompleted>(reporter);

        var restart = Collected<TrainerRestarted>(seen).Single();
        Assert.Equal(5, restart.FromStep);  // the decay-1 checkpoint
        Assert.Equal(1, restart.Attempt);
        Assert.Contains("NaN at step 7", restart.Reason);
        lock (log)
        {
            // Steps 0-6 ran, 7 failed; the new trainer resumed at 5 with the same learning rates as before.
            int[] expected = [0, 1, 2, 3, 4, 5, 6, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
            Assert.Equal(expected, log.Steps.Select(s => s.Step).ToArray());
            Assert.Equal(0.1, Round(log.Steps[7].Lr));
            Assert.Null(log.ResumedFrom[0]);
            Assert.EndsWith("crash-upstream-step5.bin", log.ResumedFrom[1]);
        }
        Assert.Equal(16, seen.OfType<RunCompleted>().Single().Backbone.Steps);
    }

    [Fact]
    public void ATrainerThatKeepsCrashingEndsTheRunNamingTheFailure()
    {
        var log = new TrainerLog();
        var reporter = CreateTestProbe();
        var spec = Spec("hopeless");
        Sys.ActorOf(TrainingSupervisor.Props(spec, reporter.Ref, spec => Props.Create(() => new AlwaysFailing()), new SyntheticUpstreamData(), EmptyDispatcher.Props));

        var seen = ReceiveUntil<RunFailed>(reporter);

        Assert.Equal(2, Collected<TrainerRestarted>(seen).Length);
        var failed = seen.OfType<RunFailed>().Single();
        Assert.Contains("restarted 2 times", failed.Reason);
        Assert.Contains("out of memory", failed.Reason);
        Assert.Equal("failed", Collected<PhaseChanged>(seen).Last().Phase);
    }

    [Fact]
    public void AStopWhileTrainingCheckpointsTheNextStepFirstAndNamesIt()
    {
        var log = new TrainerLog();
        var reporter = CreateTestProbe();
        // Three batches, then a stalled source: the run is at step 3 when it is told to stop.
        var supervisor = Start(Spec("stop"), reporter, log, new SyntheticUpstreamData(batches: 3));
        Watch(supervisor);
        reporter.FishForMessage(m => m is TrainingProgress { Step: 3 }, Wait);

        supervisor.Tell(new StopRun("SIGINT"));

        var stopped = reporter.FishForMessage<RunStopped>(m => m is RunStopped, Wait);
        Assert.Equal(3, stopped.Step);
        Assert.EndsWith("stop-upstream-step3.bin", stopped.Checkpoint);
        Assert.Equal("SIGINT", stopped.Reason);
        Assert.False(stopped.BackboneFinished);
        ExpectTerminated(supervisor, Wait);
        lock (log)
        {
            Assert.Equal(new int?[] { 2, 3 }, log.Checkpoints.ToArray());  // the warmup → base-lr checkpoint, then the stop's
            Assert.Equal([0, 1, 2], log.Steps.Select(s => s.Step));
        }
    }

    [Fact]
    public void AStopBeforeTheDatasetIsPublishedEndsTheRunWithNothingToResume()
    {
        var reporter = CreateTestProbe();
        var data = new SyntheticUpstreamData(unpublishedReads: int.MaxValue);
        var supervisor = Start(Spec("early", datasetWait: 60), reporter, new TrainerLog(), data);
        Watch(supervisor);
        reporter.FishForMessage(m => m is PhaseChanged { Phase: UpstreamPhase.WaitingForDataset }, Wait);

        supervisor.Tell(new StopRun("SIGTERM"));

        var stopped = reporter.FishForMessage<RunStopped>(m => m is RunStopped, Wait);
        Assert.Null(stopped.Checkpoint);
        Assert.Equal(0, stopped.Step);
        ExpectTerminated(supervisor, Wait);
    }

    [Fact]
    public void ADatasetThatIsNeverPublishedFailsTheRunNamingIt()
    {
        var reporter = CreateTestProbe();
        Start(Spec("missing", datasetWait: 0.3), reporter, new TrainerLog(), new SyntheticUpstreamData(unpublishedReads: int.MaxValue));

        var failed = reporter.FishForMessage<RunFailed>(m => m is RunFailed, Wait);

        Assert.Contains("dataset 'synthetic' is not published", failed.Reason);
        Assert.Contains("bitactors publish --dataset synthetic", failed.Reason);
    }

    private static double? Round(double? lr) => lr is null ? null : Math.Round(lr.Value, 10);

    private sealed class AlwaysFailing : ReceiveActor
    {
        public AlwaysFailing() => Receive<TrainOn>(_ => throw new InvalidOperationException("CUDA out of memory"));
    }
}
