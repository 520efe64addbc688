using Akka.Actor;
using BitActors.Actors.Cluster;
using BitActors.Actors.FineTuning;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Tests.Cluster;

/// <summary>
/// Only the coordinator assigns work, and only the device an attempt was assigned to speaks for it: a peer that sends a
/// device an assignment, or the coordinator a checkpoint or an outcome of someone else's attempt, is logged and
/// dropped; nothing it sends is trained, recorded or announced on bit.models.
/// </summary>
public sealed class ForgedSenderTests : CoordinatorTestKit
{
    [Fact]
    public async Task AnOutcomeOrCheckpointFromAnyoneButTheAssignedDeviceIsDroppedAndNeverAnnounced()
    {
        var job = new ClusterJob("run-x", await BackboneAsync(), Tasks);
        var coordinator = Coordinator(job, "coordinator");
        var (a, forger) = (CreateTestProbe(), CreateTestProbe());
        a.Send(coordinator, new RequestWork("node-a", "cpu"));
        var work = a.ExpectMsg<WorkAssigned>(TimeSpan.FromSeconds(30));
        Assert.Equal(("transfer-2shot-seed0", 1), (work.Task.Id, work.Attempt));

        // Someone else speaks for node-a's attempt: a checkpoint of its choosing, an outcome, a failure. All dropped.
        forger.Send(coordinator, new TaskCheckpointed(work.Task.Id, 1, Checkpoint(job.RunId, work.Task.Id, 1, 40)));
        forger.Send(coordinator, new TaskCompleted(work.Task.Id, 1, """{"task":"forged"}"""));
        forger.Send(coordinator, new TaskFailed(work.Task.Id, 1, "forged"));
        forger.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        // An outcome for a task nobody runs (no current attempt): acknowledged, not announced.
        forger.Send(coordinator, new TaskCompleted("transfer-2shot-seed1", 1, """{"task":"forged"}"""));
        forger.ExpectMsg<TaskSettled>(s => s.TaskId == "transfer-2shot-seed1");

        // node-a's own checkpoint counts; node-a goes, and the task resumes from it (step 10, not the forged 40).
        a.Send(coordinator, new TaskCheckpointed(work.Task.Id, 1, Checkpoint(job.RunId, work.Task.Id, 1, 10)));
        var b = CreateTestProbe();
        b.Send(coordinator, new RequestWork("node-b", "cpu"));
        Assert.Equal("transfer-2shot-seed1", b.ExpectMsg<WorkAssigned>().Task.Id); // still queued: the forged outcome did not settle it
        Sys.Stop(a.Ref);
        var c = CreateTestProbe();
        c.Send(coordinator, new RequestWork("node-c", "cpu"));
        var resumed = c.ExpectMsg<WorkAssigned>(TimeSpan.FromSeconds(10));
        Assert.Equal((work.Task.Id, 2, 10), (resumed.Task.Id, resumed.Attempt, resumed.ResumeFrom!.NextStep));
        c.Send(coordinator, new TaskCompleted(work.Task.Id, 2, """{"task":"transfer-2shot-seed0"}"""));
        c.ExpectMsg<TaskSettled>(s => s.TaskId == work.Task.Id);

        await AwaitAssertAsync(() => Assert.Equal(2, Announced().Count), TimeSpan.FromSeconds(20));
        await Task.Delay(500);
        var events = Announced();
        Assert.Equal(["bit.backbone.ready", "bit.finetune.completed"], events.Select(e => e.Type).Order());
        Assert.Equal("transfer-2shot-seed0", events.Single(e => e.Type == "bit.finetune.completed").Data.GetProperty("task").GetString());
    }

    [Fact]
    public async Task AnOutcomeOfTheLastAssignedAttemptStillCountsAfterTheCoordinatorMoved()
    {
        var job = new ClusterJob("run-h", await BackboneAsync(), Tasks);
        var first = Coordinator(job, "coordinator-1");
        var a = CreateTestProbe();
        a.Send(first, new RequestWork("node-a", "cpu"));
        var work = a.ExpectMsg<WorkAssigned>(TimeSpan.FromSeconds(30));
        Stop(first);

        // node-a finished during the handover: it reports its outcome to the new coordinator without having said it held the task.
        var second = Coordinator(job, "coordinator-2");
        await AwaitAssertAsync(() =>
        {
            // Resent, as a device does, until the new coordinator has read the store and settles it.
            a.Send(second, new TaskCompleted(work.Task.Id, 1, """{"task":"transfer-2shot-seed0"}"""));
            a.ExpectMsg<TaskSettled>(s => s.TaskId == work.Task.Id, TimeSpan.FromSeconds(2));
        }, TimeSpan.FromSeconds(30));
        var b = CreateTestProbe();
        b.Send(second, new RequestWork("node-b", "cpu"));
        Assert.Equal("transfer-2shot-seed1", b.ExpectMsg<WorkAssigned>().Task.Id); // seed0 is not run again

        await AwaitAssertAsync(() => Assert.Contains(Announced(), e => e.Type == "bit.finetune.completed"), TimeSpan.FromSeconds(20));
        var completed = Assert.Single(Announced(), e => e.Type == "bit.finetune.completed");
        Assert.Equal("transfer-2shot-seed0", completed.Data.GetProperty("task").GetString());
    }

    [Fact]
    public void ADeviceActsOnlyOnTheCoordinatorsAssignmentsAndSettlements()
    {
        var coordinator = CreateTestProbe();
        var forger = CreateTestProbe();
        var settings = new TrainerNodeSettings("node-a", new KafkaEndpoint("127.0.0.1:1"), new FineTuneSettings { Recipe = new() { BatchSize = 8, BaseLr = 0.003 } }, Store, CheckpointEvery: 0,
            TimeSpan.FromMilliseconds(200));
        var slot = Sys.ActorOf(DeviceSlot.Props(coordinator.Ref, "cpu", settings), "slot-a");
        coordinator.ExpectMsg<RequestWork>(TimeSpan.FromSeconds(10));

        // Its backbone is not in the store: a device that acts on an assignment reports the attempt failed.
        var task = ClusterTask.Of(new FineTuneTask("t", "tiny", ClassSubset.Range(0, 5), null, 0, FromScratch: false));
        var missing = new ClusterBackbone(new ArtifactRef(new Uri(Store.PathOf("run-x/backbone.bin")).AbsoluteUri, "00", 3), "Tiny", 1, "gn", true);
        forger.Send(slot, new WorkAssigned("run-x", task, 1, missing, null));
        // The device stays free: it keeps asking the coordinator for work, and says nothing else.
        for (var i = 0; i < 4; i++) coordinator.ExpectMsg<RequestWork>(TimeSpan.FromSeconds(5));

        coordinator.Send(slot, new WorkAssigned("run-x", task, 1, missing, null));
        var failed = coordinator.FishForMessage<TaskFailed>(m => m is TaskFailed, TimeSpan.FromSeconds(10));
        Assert.Contains("missing on this node", failed.Reason);
        // A settlement from someone else does not end the report: the outcome is sent again, not a request for work.
        forger.Send(slot, new TaskSettled("t"));
        coordinator.ExpectMsg<TaskFailed>(TimeSpan.FromSeconds(5));
        coordinator.ExpectMsg<TaskFailed>(TimeSpan.FromSeconds(5));
        coordinator.Send(slot, new TaskSettled("t"));
        coordinator.FishForMessage<RequestWork>(m => m is RequestWork, TimeSpan.FromSeconds(5));
    }
}
