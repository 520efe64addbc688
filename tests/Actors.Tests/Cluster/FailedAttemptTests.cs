using System.Text.Json;
using Akka.Event;
using BitActors.Actors.Cluster;
using BitActors.Streams.Images;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Tests.Cluster;

/// <summary>
/// A task whose attempt fails (a trainer exception, not a lost node) is tried again on another device from its last
/// checkpoint, on the device it failed on only when no other is left, and after <c>MaxAttempts</c> failed attempts it
/// is announced as failed once, while the other task completes. Test probes are the trainer devices.
/// </summary>
public sealed class FailedAttemptTests : CoordinatorTestKit
{
    [Fact]
    public async Task AFailedAttemptIsRetriedOnAnotherDeviceFromItsCheckpointAndAfterMaxAttemptsIsAnnouncedFailedOnce()
    {
        var job = new ClusterJob("run-f", await BackboneAsync(), Tasks, MaxAttempts: 2);
        var store = Store;
        var coordinator = Coordinator(job, "coordinator");
        var (a, b) = (CreateTestProbe(), CreateTestProbe());
        a.Send(coordinator, new RequestWork("node-a", "cpu"));
        var failing = a.ExpectMsg<WorkAssigned>(TimeSpan.FromSeconds(30));
        b.Send(coordinator, new RequestWork("node-b", "cpu"));
        var other = b.ExpectMsg<WorkAssigned>();
        Assert.Equal(("transfer-2shot-seed0", "transfer-2shot-seed1"), (failing.Task.Id, other.Task.Id));

        a.Send(coordinator, new TaskCheckpointed(failing.Task.Id, 1, Checkpoint(job.RunId, failing.Task.Id, 1, 10)));
        a.Send(coordinator, new TaskFailed(failing.Task.Id, 1, "trainer failed at step 12: loss became NaN at step 12"));
        a.ExpectMsg<TaskSettled>(s => s.TaskId == failing.Task.Id);
        a.Send(coordinator, new RequestWork("node-a", "cpu"));
        a.ExpectNoMsg(TimeSpan.FromMilliseconds(500)); // the task failed here and node-b may take it: node-a waits

        b.Send(coordinator, new TaskCompleted(other.Task.Id, 1, """{"task":"transfer-2shot-seed1"}"""));
        b.ExpectMsg<TaskSettled>();
        b.Send(coordinator, new RequestWork("node-b", "cpu"));
        var second = b.ExpectMsg<WorkAssigned>();
        Assert.Equal((failing.Task.Id, 2, 10), (second.Task.Id, second.Attempt, second.ResumeFrom!.NextStep));

        // node-b is lost (that does not count as a failure): node-a, the only device left, takes the task after all.
        Sys.Stop(b.Ref);
        var third = a.ExpectMsg<WorkAssigned>(TimeSpan.FromSeconds(10));
        Assert.Equal((failing.Task.Id, 3, 10), (third.Task.Id, third.Attempt, third.ResumeFrom!.NextStep));
        a.Send(coordinator, new TaskFailed(failing.Task.Id, 3, "trainer failed at step 12: loss became NaN at step 12"));
        a.ExpectMsg<TaskSettled>(s => s.TaskId == failing.Task.Id);
        a.Send(coordinator, new TaskFailed(failing.Task.Id, 1, "resent")); // an old attempt's outcome: acknowledged only
        a.ExpectMsg<TaskSettled>();
        a.Send(coordinator, new RequestWork("node-a", "cpu"));
        a.ExpectNoMsg(TimeSpan.FromMilliseconds(500)); // nothing is left to run

        await AwaitAssertAsync(() => Assert.Equal(3, Announced().Count), TimeSpan.FromSeconds(20));
        await Task.Delay(500);
        var events = Announced();
        Assert.Equal(["bit.backbone.ready", "bit.finetune.completed", "bit.finetune.failed"], events.Select(e => e.Type).Order());
        var failed = Assert.Single(events, e => e.Type == "bit.finetune.failed");
        Assert.Equal("run-f/transfer-2shot-seed0", failed.Subject);
        Assert.StartsWith("2 attempts failed; the last (attempt 3 on node-a): trainer failed at step 12", failed.Data.GetProperty("reason").GetString());

        // The record a coordinator taking over would read: three attempts, two failed, the checkpoint at step 10.
        var record = JsonDocument.Parse(File.ReadAllText(Path.Combine(store.Root, "run-f", "progress", "transfer-2shot-seed0.json"))).RootElement;
        Assert.Equal((3, 2, 10), (record.GetProperty("attempts").GetInt32(), record.GetProperty("failures").GetInt32(),
            record.GetProperty("checkpoint").GetProperty("nextStep").GetInt32()));
    }

    [Fact]
    public async Task AnAttemptThatFailedOnACorruptCheckpointIsRetriedFromTheStartNotFromThatCheckpoint()
    {
        var job = new ClusterJob("run-c", await BackboneAsync(), Tasks, MaxAttempts: 3);
        var coordinator = Coordinator(job, "coordinator");
        var a = CreateTestProbe();
        a.Send(coordinator, new RequestWork("node-a", "cpu"));
        var first = a.ExpectMsg<WorkAssigned>(TimeSpan.FromSeconds(30));
        var checkpoint = Checkpoint(job.RunId, first.Task.Id, 1, 10);
        a.Send(coordinator, new TaskCheckpointed(first.Task.Id, 1, checkpoint));
        a.Send(coordinator, new TaskFailed(first.Task.Id, 1, "trainer failed at step 12"));
        a.ExpectMsg<TaskSettled>(s => s.TaskId == first.Task.Id);
        a.Send(coordinator, new RequestWork("node-a", "cpu"));
        var second = a.ExpectMsg<WorkAssigned>(w => w.Task.Id == first.Task.Id); // the only device: it gets the task again
        Assert.Equal((2, 10), (second.Attempt, second.ResumeFrom!.NextStep));

        // The checkpoint's weights are truncated on the store; the attempt resuming from it fails on it.
        var weights = Store.PathOf($"{job.RunId}/tasks/{first.Task.Id}/attempt1-step10.bin");
        File.WriteAllBytes(weights, [1]);
        a.Send(coordinator, new TaskFailed(first.Task.Id, 2, $"checkpoint {weights} does not match its sha256"));
        a.ExpectMsg<TaskSettled>(s => s.TaskId == first.Task.Id);
        a.Send(coordinator, new RequestWork("node-a", "cpu"));
        var third = a.ExpectMsg<WorkAssigned>(w => w.Task.Id == first.Task.Id);
        Assert.Equal(3, third.Attempt);
        Assert.Null(third.ResumeFrom);
        var record = JsonDocument.Parse(File.ReadAllText(Path.Combine(Store.Root, "run-c", "progress", $"{first.Task.Id}.json"))).RootElement;
        Assert.Equal(JsonValueKind.Null, record.GetProperty("checkpoint").ValueKind);
    }

    [Fact]
    public async Task AnUpstreamThatFailedMaxAttemptsTimesIsNotRunAgainByACoordinatorTakingOver()
    {
        await BackboneAsync(); // bit.models
        var upstream = new UpstreamSettings
        {
            Data = new() { Dataset = "tiny", Classes = ClassSubset.Range(0, 5), Augment = new AugmentSettings(18, 16, 1), ShuffleBuffer = 16, DecodeParallelism = 1 },
            Model = new("Tiny"),
            Schedule = new() { BatchSize = 8, Steps = 100, BaseLrPer256 = 0.1, WarmupFraction = 0.1 },
            Seed = 0,
        };
        var job = new ClusterJob("run-uf", null, Tasks, upstream, MaxAttempts: 1);
        var first = Coordinator(job, "coordinator-1");
        var a = CreateTestProbe();
        a.Send(first, new RequestWork("node-a", "cpu"));
        Assert.True(a.ExpectMsg<WorkAssigned>(TimeSpan.FromSeconds(30)).Task.IsUpstream);
        a.Send(first, new TaskFailed(ClusterTask.UpstreamId, 1, "upstream trainer failed at step 3"));
        a.ExpectMsg<TaskSettled>();
        a.Send(first, new RequestWork("node-a", "cpu"));
        a.ExpectNoMsg(TimeSpan.FromMilliseconds(500)); // the run failed: nothing to hand out

        Stop(first);
        var errors = CreateTestProbe();
        Sys.EventStream.Subscribe(errors.Ref, typeof(Error));
        var second = Coordinator(job, "coordinator-2");
        a.Send(second, new RequestWork("node-a", "cpu"));
        errors.FishForMessage<Error>(e => e.Message.ToString()!.Contains("the upstream failed 1 times under an earlier coordinator"), TimeSpan.FromSeconds(30));
        a.ExpectNoMsg(TimeSpan.FromMilliseconds(500)); // the record says it failed for good: not pre-trained again
    }
}
