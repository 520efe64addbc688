using BitActors.Model.Checkpoints;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using BitActors.Actors.Hosting;
using BitActors.Actors.Training;
using BitActors.Model.Training;
using BitActors.Streams.Images;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Tests;

/// <summary>The supervisor against a fake trainer that fails on purpose, on real batches from the embedded broker.</summary>
[Trait("Category", "EndToEnd")]
public sealed class TrainerRecoveryTests() : TestKit(BitActorsConfig.Reference())
{
    /// <summary>Fails when it reaches <c>FailAt</c> while failures remain; records the steps it ran.</summary>
    private sealed class FailurePlan(int failAt, int failures)
    {
        public int FailAt { get; } = failAt;
        public int FailuresLeft = failures;
        public readonly List<int> Steps = new();
        public readonly List<string?> ResumedFrom = new();
    }

    private sealed class FlakyTrainer : ReceiveActor
    {
        public FlakyTrainer(TrainerSpec spec, FailurePlan plan)
        {
            lock (plan) plan.ResumedFrom.Add(spec.ResumeFrom);
            Receive<TrainOn>(m =>
            {
                lock (plan)
                {
                    if (m.Step == plan.FailAt && plan.FailuresLeft > 0)
                    {
                        plan.FailuresLeft--;
                        throw new ArithmeticException($"loss became NaN at step {m.Step}");
                    }
                    plan.Steps.Add(m.Step);
                }
                Sender.Tell(new StepResult(m.Step, m.LearningRate, 1.0, 0.5, m.Batch.Count));
            });
            Receive<SaveCheckpoint>(m => Sender.Tell(new CheckpointSaved(new CheckpointFiles.Saved(m.Path, 1, new string('0', 64), "fake"), m.NextStep)));
            Receive<EvaluateOn>(m => Sender.Tell(EvaluationPartial.Of(new BatchEvaluation(0, 0, 0, new long[m.Batch.Count]), m.Batch.Labels)));
        }
    }

    private RunSpec Spec(PublishedDataset data, string runId) => new(runId, data.Kafka.Endpoint, data.Output.FullName,
        new UpstreamSettings
        {
            Data = new() { Dataset = data.Name, Classes = ClassSubset.Range(0, 5), Augment = new AugmentSettings(16, 16, 1), ShuffleBuffer = 16, DecodeParallelism = 2 },
            Model = new("Tiny"),
            Schedule = new() { BatchSize = 8, Steps = 12, BaseLrPer256 = 0.1, WarmupFraction = 0.1 },
            Loop = new() { ProgressEvery = 1, CheckpointEvery = 4, MaxRestarts = 2, RestartBackoffSeconds = 0.1, CheckpointAtPhaseChange = false },
            Seed = 0,
        },
        new FineTuneSettings { Recipe = new() { BatchSize = 8, BaseLr = 0.003 }, Data = new() { Augment = null, ShuffleBuffer = 8, DecodeParallelism = 1, EvalBatchSize = 64 } }, []);

    [Fact]
    public async Task AFailedTrainerIsRestartedFromTheLastCheckpointLosingOnlyTheStepsSince()
    {
        await using var data = await PublishedDataset.CreateAsync(Sys, "recover", train: 200, test: 20);
        var plan = new FailurePlan(failAt: 6, failures: 1);
        var reporter = CreateTestProbe();
        Sys.ActorOf(TrainingSupervisor.Props(Spec(data, "recover"), reporter.Ref, spec => Props.Create(() => new FlakyTrainer(spec, plan))));

        var restarted = reporter.FishForMessage<TrainerRestarted>(m => m is TrainerRestarted, TimeSpan.FromMinutes(1));
        Assert.Equal(4, restarted.FromStep);                 // last checkpoint: after step 4
        Assert.Contains("NaN", restarted.Reason);
        var completed = reporter.FishForMessage<RunCompleted>(m => m is RunCompleted, TimeSpan.FromMinutes(1));
        Assert.Equal(12, completed.Backbone.Steps);
        lock (plan)
        {
            // Steps 0-5 ran, 6 failed; the new trainer resumed from the step-4 checkpoint and ran 4-11.
            Assert.Equal([0, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 10, 11], plan.Steps);
            Assert.Null(plan.ResumedFrom[0]);
            Assert.EndsWith("recover-upstream-step4.bin", plan.ResumedFrom[1]);
        }
    }

    [Fact]
    public async Task AnUnknownDeviceFailsTheRunNamingIt()
    {
        await using var data = await PublishedDataset.CreateAsync(Sys, "nodevice", train: 50, test: 10);
        var spec = Spec(data, "nodevice") with { Device = "tpu" };
        spec = spec with { Upstream = spec.Upstream with { Loop = spec.Upstream.Loop with { MaxRestarts = 0 } } };
        var reporter = CreateTestProbe();
        Sys.ActorOf(TrainingSupervisor.Props(spec, reporter.Ref));
        var failed = reporter.FishForMessage<RunFailed>(m => m is RunFailed, TimeSpan.FromMinutes(1));
        Assert.Contains("'tpu'", failed.Reason);
    }

    [Fact]
    public async Task ATrainerThatKeepsFailingEndsTheRunWithTheReason()
    {
        await using var data = await PublishedDataset.CreateAsync(Sys, "hopeless", train: 200, test: 20);
        var plan = new FailurePlan(failAt: 2, failures: int.MaxValue);
        var reporter = CreateTestProbe();
        Sys.ActorOf(TrainingSupervisor.Props(Spec(data, "hopeless"), reporter.Ref, spec => Props.Create(() => new FlakyTrainer(spec, plan))));

        var failed = reporter.FishForMessage<RunFailed>(m => m is RunFailed, TimeSpan.FromMinutes(1));
        Assert.Contains("restarted 2 times", failed.Reason);
        Assert.Contains("NaN", failed.Reason);
        lock (plan) Assert.Equal(3, plan.ResumedFrom.Count);  // the first trainer and two restarts
    }
}
