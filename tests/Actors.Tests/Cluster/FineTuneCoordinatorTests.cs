using BitActors.Actors.Cluster;

namespace BitActors.Actors.Tests.Cluster;

/// <summary>
/// The coordinator's decisions, with test probes as trainer devices (no training): tasks go only to devices that ask,
/// a lost device's task goes to the next one that asks with its last checkpoint, an outcome is announced once per task
/// id however often it arrives, and a coordinator taking over on the same broker runs nothing already announced.
/// </summary>
public sealed class FineTuneCoordinatorTests : CoordinatorTestKit
{
    private static TaskCheckpoint Checkpoint(int step) =>
        new(new ArtifactRef($"file:///store/a-step{step}.bin", "aa", 1), new ArtifactRef($"file:///store/a-step{step}.bin.state", "bb", 1), step);

    [Fact]
    public async Task ALostDevicesTaskResumesElsewhereAndEveryTaskIsAnnouncedOnce()
    {
        var job = new ClusterJob("run-1", await BackboneAsync(), Tasks);
        var store = Store;
        var coordinator = Coordinator(job, "coordinator");
        var a = CreateTestProbe();
        var b = CreateTestProbe();

        a.Send(coordinator, new RequestWork("node-a", "cpu"));
        var first = a.ExpectMsg<WorkAssigned>(TimeSpan.FromSeconds(30));
        Assert.Equal("transfer-2shot-seed0", first.Task.Id);
        Assert.Equal(1, first.Attempt);
        Assert.Null(first.ResumeFrom);
        // The given native file is fanned out as its safetensors rewrite, in the store.
        Assert.Equal(Path.Combine(store.Root, "run-1", "backbone", "backbone.safetensors"), store.Fetch(first.Backbone!.Artifact));
        a.Send(coordinator, new RequestWork("node-a", "cpu")); // a request that crossed the assignment: the same answer
        Assert.Equal(first, a.ExpectMsg<WorkAssigned>());

        b.Send(coordinator, new RequestWork("node-b", "cpu"));
        var second = b.ExpectMsg<WorkAssigned>();
        Assert.Equal("transfer-2shot-seed1", second.Task.Id);
        var c = CreateTestProbe();
        c.Send(coordinator, new RequestWork("node-c", "cpu"));
        c.ExpectNoMsg(TimeSpan.FromMilliseconds(300)); // nothing left: it waits

        a.Send(coordinator, new TaskCheckpointed(first.Task.Id, 1, Checkpoint(10)));
        a.Send(coordinator, new TaskCheckpointed(first.Task.Id, 1, Checkpoint(20)));
        Sys.Stop(a.Ref); // node-a is gone: its task goes to the device that waits, from step 20
        var resumed = c.ExpectMsg<WorkAssigned>(TimeSpan.FromSeconds(10));
        Assert.Equal(first.Task.Id, resumed.Task.Id);
        Assert.Equal(2, resumed.Attempt);
        Assert.Equal(20, resumed.ResumeFrom!.NextStep);

        b.Send(coordinator, new TaskCompleted(second.Task.Id, 1, """{"task":"transfer-2shot-seed1"}"""));
        b.ExpectMsg<TaskSettled>(s => s.TaskId == second.Task.Id);
        b.Send(coordinator, new TaskCompleted(second.Task.Id, 1, """{"task":"transfer-2shot-seed1"}""")); // resent: acknowledged, not announced
        b.ExpectMsg<TaskSettled>();
        c.Send(coordinator, new TaskCompleted(first.Task.Id, 2, """{"task":"transfer-2shot-seed0"}"""));
        c.ExpectMsg<TaskSettled>();
        c.Send(coordinator, new TaskCompleted("transfer-9shot-seed7", 1, "{}")); // no task of this run: acknowledged, not announced
        c.ExpectMsg<TaskSettled>(s => s.TaskId == "transfer-9shot-seed7");

        await AwaitAssertAsync(() => Assert.Equal(3, Subjects().Count), TimeSpan.FromSeconds(20));
        var subjects = Subjects();
        Assert.Equal(["run-1/transfer-2shot-seed0", "run-1/transfer-2shot-seed1", "run-1/upstream"], subjects.Order());

        // A coordinator taking over finds both tasks announced and hands out nothing.
        Stop(coordinator);
        var next = Coordinator(job, "coordinator-2");
        var d = CreateTestProbe();
        d.Send(next, new RequestWork("node-d", "cpu"));
        d.ExpectNoMsg(TimeSpan.FromSeconds(2));
        Assert.Equal(3, Subjects().Count); // no second backbone event either
    }

    /// <summary>The subjects of every event on bit.models.</summary>
    private List<string> Subjects() => Announced().Select(e => e.Subject).ToList();
}
