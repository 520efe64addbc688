using Akka.TestKit.Xunit2;
using BitActors.Actors.Cluster;
using BitActors.Actors.Hosting;

namespace BitActors.Actors.Tests.Cluster;

/// <summary>The outcomes a device sends the coordinator cross the network through Akka's default (JSON) serializer and come back equal.</summary>
public sealed class ClusterWireTests() : TestKit(BitActorsConfig.Reference())
{
    [Fact]
    public void AnUpstreamTasksCompletionRoundTripsWithItsBackbone()
    {
        var backbone = new ClusterBackbone(new ArtifactRef("file:///store/run/upstream/backbone.bin", new string('a', 64), 1234), "Tiny", 1, "gn", true);
        var sent = new TaskCompleted(ClusterTask.UpstreamId, 2, """{"run":"r","steps":100}""", backbone);

        var serializer = Sys.Serialization.FindSerializerFor(sent);
        var received = (TaskCompleted)serializer.FromBinary(serializer.ToBinary(sent), typeof(TaskCompleted));

        Assert.Equal(sent, received);
        Assert.Equal(sent with { Backbone = null }, serializer.FromBinary(serializer.ToBinary(sent with { Backbone = null }), typeof(TaskCompleted)));
    }
}
