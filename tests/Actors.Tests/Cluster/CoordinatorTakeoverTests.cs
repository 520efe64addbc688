using Akka.Actor;
using Akka.TestKit;
using BitActors.Actors.Cluster;
using BitActors.Streams.Images;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Tests.Cluster;

/// <summary>
/// A coordinator that takes over (the singleton moved to another coordinator node: here a second instance over the
/// same artifact store and broker) resumes every task from the checkpoint the first one recorded, the upstream
/// pre-training included, adopts an attempt still running through the handover, starts no finished upstream again,
/// and announces nothing twice. Test probes are the trainer devices; the checkpoints are small files in the store.
/// </summary>
public sealed class CoordinatorTakeoverTests : CoordinatorTestKit
{
    /// <summary>The coordinator's node goes, with the device on it; another coordinator starts, and a new device asks it for work.</summary>
    private (IActorRef Coordinator, TestProbe Device, WorkAssigned Work) TakeOver(IActorRef old, TestProbe lostDevice, ClusterJob job, string name, string node)
    {
        Stop(old);
        Sys.Stop(lostDevice.Ref);
        var coordinator = Coordinator(job, name);
        var device = CreateTestProbe();
        device.Send(coordinator, new RequestWork(node, "cpu"));
        return (coordinator, device, device.ExpectMsg<WorkAssigned>(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task ACoordinatorTakingOverResumesEachTaskFromItsLastCheckpointAndAnnouncesEachOnce()
    {
        var job = new ClusterJob("run-t", await BackboneAsync(), Tasks);
        var store = Store;
        var first = Coordinator(job, "coordinator-1");
        var (a, b) = (CreateTestProbe(), CreateTestProbe());
        a.Send(first, new RequestWork("node-a", "cpu"));
        var seed0 = a.ExpectMsg<WorkAssigned>(TimeSpan.FromSeconds(30));
        b.Send(first, new RequestWork("node-b", "cpu"));
        var seed1 = b.ExpectMsg<WorkAssigned>();
        Assert.Equal(("transfer-2shot-seed0", "transfer-2shot-seed1"), (seed0.Task.Id, seed1.Task.Id));
        a.Send(first, new TaskCheckpointed(seed0.Task.Id, 1, Checkpoint(job.RunId, seed0.Task.Id, 1, 10)));
        a.Send(first, new TaskCheckpointed(seed0.Task.Id, 1, Checkpoint(job.RunId, seed0.Task.Id, 1, 20)));
        await AwaitAssertAsync(() => Assert.Single(Announced()), TimeSpan.FromSeconds(20)); // bit.backbone.ready
        a.Send(first, new TaskCheckpointed(seed0.Task.Id, 1, Checkpoint(job.RunId, seed0.Task.Id, 1, 30)));
        // The coordinator handles its mail in order: once it answers this request again, the step-30 checkpoint is recorded.
        a.Send(first, new RequestWork("node-a", "cpu"));
        a.ExpectMsg<WorkAssigned>();

        // The coordinator's node goes; node-a goes with it. Another coordinator starts over the same store.
        Stop(first);
        Sys.Stop(a.Ref);
        var second = Coordinator(job, "coordinator-2");
        b.Send(second, new WorkHeld("node-b", "cpu", seed1.Task.Id, 1)); // node-b's attempt goes on through the handover
        var c = CreateTestProbe();
        c.Send(second, new RequestWork("node-c", "cpu"));
        var resumed = c.ExpectMsg<WorkAssigned>(TimeSpan.FromSeconds(30));
        Assert.Equal(seed0.Task.Id, resumed.Task.Id);
        Assert.Equal(30, resumed.ResumeFrom!.NextStep);
        Assert.Equal(2, resumed.Attempt); // numbered after the first coordinator's attempts: no file of attempt 1 is written over
        Assert.Equal(Path.Combine(store.Root, "run-t", "tasks", seed0.Task.Id, "attempt1-step30.bin"), store.Fetch(resumed.ResumeFrom.Weights));
        var d = CreateTestProbe();
        d.Send(second, new RequestWork("node-d", "cpu"));
        d.ExpectNoMsg(TimeSpan.FromMilliseconds(500)); // node-b's attempt was adopted: nothing is started again

        b.Send(second, new TaskCheckpointed(seed1.Task.Id, 1, Checkpoint(job.RunId, seed1.Task.Id, 1, 10))); // adopted: recorded
        b.Send(second, new TaskCompleted(seed1.Task.Id, 1, """{"task":"transfer-2shot-seed1"}"""));
        b.ExpectMsg<TaskSettled>(TimeSpan.FromSeconds(10));
        c.Send(second, new TaskCompleted(seed0.Task.Id, 2, """{"task":"transfer-2shot-seed0"}"""));
        c.ExpectMsg<TaskSettled>();

        await AwaitAssertAsync(() => Assert.Equal(3, Announced().Count), TimeSpan.FromSeconds(20));
        await Task.Delay(500);
        var events = Announced();
        Assert.Equal(["bit.backbone.ready", "bit.finetune.completed", "bit.finetune.completed"], events.Select(e => e.Type).Order());
        Assert.Equal(["run-t/transfer-2shot-seed0", "run-t/transfer-2shot-seed1"], events.Where(e => e.Type == "bit.finetune.completed").Select(e => e.Subject).Order());
        var record = File.ReadAllText(Path.Combine(store.Root, "run-t", "progress", "transfer-2shot-seed1.json"));
        Assert.Contains("attempt1-step10.bin", record);
    }

    [Fact]
    public async Task ACoordinatorTakingOverAnUpstreamRunResumesItFromItsCheckpointAndAfterItFansOutItsBackbone()
    {
        await BackboneAsync(); // bit.models; the backbone is the upstream's to make
        var store = Store;
        var upstream = new UpstreamSettings
        {
            Data = new() { Dataset = "tiny", Classes = ClassSubset.Range(0, 5), Augment = new AugmentSettings(18, 16, 1), ShuffleBuffer = 16, DecodeParallelism = 1 },
            Model = new("Tiny"),
            Schedule = new() { BatchSize = 8, Steps = 100, BaseLrPer256 = 0.1, WarmupFraction = 0.1 },
            Seed = 0,
        };
        var job = new ClusterJob("run-u", null, Tasks, upstream);
        var first = Coordinator(job, "coordinator-1");
        var a = CreateTestProbe();
        a.Send(first, new RequestWork("node-a", "cpu"));
        var pretraining = a.ExpectMsg<WorkAssigned>(TimeSpan.FromSeconds(30));
        Assert.True(pretraining.Task.IsUpstream);
        Assert.Null(pretraining.Backbone);
        a.Send(first, new TaskCheckpointed(ClusterTask.UpstreamId, 1, Checkpoint(job.RunId, "upstream", 1, 40)));
        a.Send(first, new RequestWork("node-a", "cpu"));
        a.ExpectMsg<WorkAssigned>();

        var (second, b, resumed) = TakeOver(first, a, job, "coordinator-2", "node-b");
        Assert.True(resumed.Task.IsUpstream);
        Assert.Equal((2, 40), (resumed.Attempt, resumed.ResumeFrom!.NextStep));

        // The upstream finishes under the second coordinator; its backbone goes to the first fine-tune task.
        var weights = store.PathOf("run-u/upstream/attempt2/run/backbone.bin");
        File.WriteAllBytes(weights, [9, 9, 9]);
        var made = new ClusterBackbone(store.Describe(weights), "Tiny", 1, "gn", true);
        b.Send(second, new TaskCompleted(ClusterTask.UpstreamId, 2, "{}", made));
        b.ExpectMsg<TaskSettled>(s => s.TaskId == ClusterTask.UpstreamId);
        b.Send(second, new RequestWork("node-b", "cpu"));
        var task = b.ExpectMsg<WorkAssigned>();
        Assert.Equal(("transfer-2shot-seed0", made), (task.Task.Id, task.Backbone));

        // A third coordinator does not pre-train again: it fans out the recorded backbone.
        var (third, c, next) = TakeOver(second, b, job, "coordinator-3", "node-c");
        Assert.False(next.Task.IsUpstream);
        Assert.Equal((2, made), (next.Attempt, next.Backbone));
        c.Send(third, new TaskCompleted(ClusterTask.UpstreamId, 1, "{}", made)); // the lost first attempt, finishing late: acknowledged only
        c.ExpectMsg<TaskSettled>(s => s.TaskId == ClusterTask.UpstreamId);
        var d = CreateTestProbe();
        d.Send(third, new RequestWork("node-d", "cpu"));
        Assert.Equal("transfer-2shot-seed1", d.ExpectMsg<WorkAssigned>().Task.Id);
        var e = CreateTestProbe();
        e.Send(third, new RequestWork("node-e", "cpu"));
        e.ExpectNoMsg(TimeSpan.FromMilliseconds(500)); // nothing else to run: no upstream again
    }
}
