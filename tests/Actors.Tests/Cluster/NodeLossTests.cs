using System.Text.Json;
using BitActors.Actors.Cluster;

namespace BitActors.Actors.Tests.Cluster;

/// <summary>
/// A task whose node is lost while it runs it (e.g. the task runs its node out of memory) resumes on another device,
/// but not forever: at <c>MaxNodeLosses</c> losses it is announced as failed, naming the losses and the nodes, and no
/// device gets it again. Test probes are the trainer devices; stopping one is its node going.
/// </summary>
public sealed class NodeLossTests : CoordinatorTestKit
{
    [Fact]
    public async Task ATaskLostWithItsNodeMaxNodeLossesTimesIsAnnouncedFailedNamingTheNodesAndIsNotAssignedAgain()
    {
        var job = new ClusterJob("run-l", await BackboneAsync(), Tasks.Take(1).ToList(), MaxNodeLosses: 3);
        var coordinator = Coordinator(job, "coordinator");
        var device = CreateTestProbe();
        device.Send(coordinator, new RequestWork("node-1", "cpu"));
        var work = device.ExpectMsg<WorkAssigned>(TimeSpan.FromSeconds(30));
        for (var node = 2; node <= 4; node++)
        {
            // The next device waits (nothing else to run); the node running the task dies; the waiting device gets it, until the third loss.
            var next = CreateTestProbe();
            next.Send(coordinator, new RequestWork($"node-{node}", "cpu"));
            next.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
            Sys.Stop(device.Ref);
            if (node == 4)
            {
                next.ExpectNoMsg(TimeSpan.FromSeconds(2)); // lost three times: failed, not assigned again
                break;
            }
            work = next.ExpectMsg<WorkAssigned>(TimeSpan.FromSeconds(10));
            Assert.Equal(("transfer-2shot-seed0", node), (work.Task.Id, work.Attempt));
            device = next;
        }

        await AwaitAssertAsync(() => Assert.Equal(2, Announced().Count), TimeSpan.FromSeconds(20));
        var failed = Assert.Single(Announced(), e => e.Type == "bit.finetune.failed");
        Assert.Equal("run-l/transfer-2shot-seed0", failed.Subject);
        var reason = failed.Data.GetProperty("reason").GetString()!;
        Assert.StartsWith("lost with its node 3 times (bitactors.cluster.max-node-losses = 3), on node-1, node-2, node-3", reason);

        // The record a coordinator taking over reads: three attempts, none failed, three lost, and where.
        var record = JsonDocument.Parse(File.ReadAllText(Path.Combine(Store.Root, "run-l", "progress", "transfer-2shot-seed0.json"))).RootElement;
        Assert.Equal((3, 0, 3), (record.GetProperty("attempts").GetInt32(), record.GetProperty("failures").GetInt32(), record.GetProperty("losses").GetInt32()));
        Assert.Equal(["node-1", "node-2", "node-3"], record.GetProperty("lostOn").EnumerateArray().Select(n => n.GetString()!));

        // A coordinator taking over finds it announced and hands it out no more.
        Stop(coordinator);
        var again = CreateTestProbe();
        again.Send(Coordinator(job, "coordinator-2"), new RequestWork("node-5", "cpu"));
        again.ExpectNoMsg(TimeSpan.FromSeconds(2));
    }
}
