using System.Text;
using System.Text.Json;
using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;
using Confluent.Kafka;

namespace BitActors.Streams.Tests;

public sealed class ModelEventsLogTests : IDisposable
{
    private readonly EmbeddedKafka kafka = new();

    public void Dispose() => kafka.Dispose();

    private async Task AnnounceAsync(int partition, string type, string subject)
    {
        using var producer = KafkaClients.CreateProducer(kafka.Endpoint);
        var message = CloudEvents.ToMessage(Guid.NewGuid().ToString(), "test", type, subject, DateTimeOffset.UtcNow, new { subject }, JsonSerializerOptions.Default);
        await producer.ProduceAsync(new TopicPartition(Topics.Models, partition), message);
    }

    [Fact]
    public async Task ReadToEndGivesEveryPartitionsEventsWithTheirAttributesAndData()
    {
        Assert.Empty(ModelEventsLog.ReadToEnd(kafka.Endpoint, TimeSpan.FromSeconds(10))); // no topic yet
        kafka.CreateTopic(Topics.Models, 2);
        Assert.Empty(ModelEventsLog.ReadToEnd(kafka.Endpoint, TimeSpan.FromSeconds(10))); // an empty topic
        await AnnounceAsync(0, "bit.backbone.ready", "run-1/upstream");
        await AnnounceAsync(1, "bit.finetune.completed", "run-1/transfer-5shot");
        await AnnounceAsync(1, "bit.finetune.completed", "run-2/transfer-5shot");

        var events = ModelEventsLog.ReadToEnd(kafka.Endpoint, TimeSpan.FromSeconds(10));

        Assert.Equal(3, events.Count);
        Assert.Equal(["run-1/transfer-5shot", "run-1/upstream", "run-2/transfer-5shot"], events.Select(e => e.Subject!).Order(StringComparer.Ordinal));
        var completed = events.Single(e => e.Subject == "run-2/transfer-5shot");
        Assert.Equal("bit.finetune.completed", completed.Type);
        Assert.Equal(CloudEvents.SpecVersion, completed.Attributes["specversion"]);
        Assert.Equal("""{"subject":"run-2/transfer-5shot"}""", Encoding.UTF8.GetString(completed.Data));
        Assert.Equal(["transfer-5shot", "upstream"], events.Select(e => e.TaskOf("run-1")).OfType<string>().Order(StringComparer.Ordinal));
        Assert.Null(completed.TaskOf("run-"));   // a run id is matched whole, not as a prefix
    }

    [Fact]
    public async Task MalformedEventsAreSkippedAndTheLogIsReadOnToItsEnd()
    {
        kafka.CreateTopic(Topics.Models, 1);
        await AnnounceAsync(0, "bit.backbone.ready", "run-1/upstream");
        using (var producer = KafkaClients.CreateProducer(kafka.Endpoint))
        {
            var noData = CloudEvents.ToMessage("e-1", "test", "bit.finetune.completed", "run-1/no-data", DateTimeOffset.UtcNow, new { }, JsonSerializerOptions.Default);
            noData.Value = null!;
            var typeWithoutValue = CloudEvents.ToMessage("e-2", "test", "x", "run-1/null-type", DateTimeOffset.UtcNow, new { }, JsonSerializerOptions.Default);
            typeWithoutValue.Headers.Remove("ce_type");
            typeWithoutValue.Headers.Add(new Header("ce_type", null));
            var noAttributes = new Message<string, byte[]> { Key = "k", Value = Encoding.UTF8.GetBytes("{}"), Headers = [new Header("ce_subject", Encoding.UTF8.GetBytes("run-1/bare"))] };
            var noHeaders = new Message<string, byte[]> { Key = null!, Value = null! };
            foreach (var m in new[] { typeWithoutValue, noAttributes, noHeaders, noData })
                await producer.ProduceAsync(new TopicPartition(Topics.Models, 0), m);
        }
        await AnnounceAsync(0, "bit.finetune.failed", "run-1/last");

        var events = ModelEventsLog.ReadToEnd(kafka.Endpoint, TimeSpan.FromSeconds(10));

        Assert.Equal(["run-1/upstream", "run-1/no-data", "run-1/last"], events.Select(e => e.Subject));
        Assert.Empty(events[1].Data); // an event without data is an event: its readers decide
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        Assert.Equal(["run-1/upstream", "run-1/no-data", "run-1/last"], ModelEventsLog.Follow(kafka.Endpoint, stop.Token).Take(3).Select(e => e.Subject));
    }

    [Fact]
    public async Task FollowWaitsForTheTopicThenGivesOldAndNewEventsUntilStopped()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        int waits = 0;
        using var events = ModelEventsLog.Follow(kafka.Endpoint, stop.Token, () => waits++).GetEnumerator();
        var first = Task.Run(events.MoveNext);
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.False(first.IsCompleted);
        kafka.CreateTopic(Topics.Models, 1);
        await AnnounceAsync(0, "bit.backbone.ready", "run-1/upstream");
        Assert.True(await first);
        Assert.Equal("run-1/upstream", events.Current.Subject);
        Assert.True(waits > 0);

        await AnnounceAsync(0, "bit.finetune.failed", "run-1/scratch-all");
        Assert.True(await Task.Run(events.MoveNext));
        Assert.Equal("bit.finetune.failed", events.Current.Type);
        stop.Cancel();
        Assert.False(await Task.Run(events.MoveNext));
    }
}
