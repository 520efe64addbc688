using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;
using Confluent.Kafka;
using Xunit.Abstractions;

namespace BitActors.Streams.Tests;

/// <summary>Several consumers in one group share a split's partitions and still read every record exactly once per epoch.</summary>
public sealed class ConsumerGroupEpochTests(ITestOutputHelper output) : IDisposable
{
    private const string Topic = "bit.data.grouped.train";
    private const int Partitions = 5, Records = 240;
    private readonly ActorSystem system = ActorSystem.Create("group-tests");
    private readonly EmbeddedKafka kafka = new();

    /// <summary>A split of 240 small records over 5 partitions (48 each, partition = index mod 5), as a publisher writes it.</summary>
    private async Task<SplitManifest> PublishAsync()
    {
        kafka.CreateTopic(Topic, Partitions);
        using var producer = KafkaClients.CreateProducer(kafka.Endpoint);
        await Task.WhenAll(Enumerable.Range(0, Records).Select(i => producer.ProduceAsync(new TopicPartition(Topic, i % Partitions),
            DatasetPublisher.ToMessage("grouped", "train", new LabelledImage(i, [i % 10], BitConverter.GetBytes(i))))));
        return new SplitManifest("train", Topic, Partitions, Records, Enumerable.Repeat((long)Records / Partitions, Partitions).ToArray(), new long[Partitions]);
    }

    private static IEnumerable<string> AllKeys => Enumerable.Range(0, Records).Select(i => $"grouped/train/{i:D8}");

    /// <summary>A member that takes a little time per record (so that the others join while it reads); <paramref name="hold"/> may stall it.</summary>
    private Task Member(SplitManifest split, string group, int epochs, ConcurrentBag<(int Member, ImageRecord Record)> seen, int member,
        Func<ImageRecord, Task>? hold = null, int? take = null) =>
        KafkaRecordSource.CreateInGroup(kafka.Endpoint, split, group, epochs, buffer: 8)
            .Take(take ?? long.MaxValue)
            .SelectAsync(1, async r =>
            {
                if (hold is not null) await hold(r);
                await Task.Delay(2);
                return r;
            })
            .RunForeach(r => seen.Add((member, r)), system.Materializer());

    [Fact]
    public async Task ThreeConsumersInAGroupReadEveryRecordExactlyOncePerEpochOverThreeEpochs()
    {
        var split = await PublishAsync();
        var seen = new ConcurrentBag<(int Member, ImageRecord Record)>();
        await Task.WhenAll(Enumerable.Range(0, 3).Select(m => Member(split, "trainers", epochs: 3, seen, m))).WaitAsync(TimeSpan.FromMinutes(2));
        AssertExactEpochs(seen, epochs: 3, members: 3);
    }

    [Fact]
    public async Task ConsumersJoiningMidEpochTakeOverPartitionsWithoutSkippingOrRepeatingARecord()
    {
        var split = await PublishAsync();
        var seen = new ConcurrentBag<(int Member, ImageRecord Record)>();
        var othersReading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int taken = 0;
        // The first member stalls after 60 records of epoch 0 (its stream stops pulling, its reader keeps polling)
        // until one of the members that join then has received records: the group rebalances under it mid-epoch.
        var first = Member(split, "late-joiners", epochs: 3, seen, 0, hold: _ => ++taken == 60 ? othersReading.Task : Task.CompletedTask);
        while (taken < 60 && !first.IsCompleted) await Task.Delay(10);
        Task Joiner(int member) => Member(split, "late-joiners", epochs: 3, seen, member, hold: _ => { othersReading.TrySetResult(); return Task.CompletedTask; });
        await Task.WhenAll(first, Joiner(1), Joiner(2)).WaitAsync(TimeSpan.FromMinutes(2));

        var epoch0 = seen.Where(s => s.Record.Epoch == 0).ToList();
        Assert.True(epoch0.Count(s => s.Member == 0) >= 60);
        Assert.True(epoch0.Count(s => s.Member != 0) > 0, "no other member read any of epoch 0");
        AssertExactEpochs(seen, epochs: 3, members: 3);
    }

    [Fact]
    public async Task AMemberLeavingMidEpochHandsItsPartlyReadPartitionsToTheOthersAtItsCommits()
    {
        var split = await PublishAsync();
        var seen = new ConcurrentBag<(int Member, ImageRecord Record)>();
        // Member 0 stops after 40 records: fewer than one partition holds, so at least one of its partitions is
        // left part-read, and the members that stay take it over from member 0's commit.
        await Task.WhenAll(Member(split, "leavers", epochs: 3, seen, 0, take: 40), Member(split, "leavers", epochs: 3, seen, 1), Member(split, "leavers", epochs: 3, seen, 2))
            .WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(40, seen.Count(s => s.Member == 0));
        var handedOver = seen.Where(s => s.Record.Epoch == 0).GroupBy(s => s.Record.Partition).Where(g => g.Select(s => s.Member).Distinct().Count() > 1).Select(g => g.Key).ToList();
        output.WriteLine($"epoch 0 partitions read by more than one member: {string.Join(", ", handedOver)}");
        Assert.NotEmpty(handedOver);
        AssertExactEpochs(seen, epochs: 3, members: 3);
    }

    private void AssertExactEpochs(ConcurrentBag<(int Member, ImageRecord Record)> seen, int epochs, int members)
    {
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            var records = seen.Where(s => s.Record.Epoch == epoch).ToList();
            output.WriteLine($"epoch {epoch}: {records.Count} records, {records.Select(r => r.Record.Key).Distinct().Count()} distinct keys; per member " +
                string.Join(", ", Enumerable.Range(0, members).Select(m => $"{m}: {records.Count(r => r.Member == m)}")) +
                "; per partition " + string.Join(", ", records.GroupBy(r => r.Record.Partition).OrderBy(g => g.Key).Select(g => $"{g.Key}: {g.Count()}")));
            Assert.Equal(AllKeys, records.Select(r => r.Record.Key).Order(StringComparer.Ordinal));
        }
        Assert.Equal(epochs * Records, seen.Count);
    }

    [Fact]
    public async Task AConsumerThatStopsMidEpochIsFollowedFromItsCommittedOffsetsWithNothingSkippedOrRepeated()
    {
        var split = await PublishAsync();
        var (left, taken) = KafkaRecordSource.CreateInGroup(kafka.Endpoint, split, "resumable", epochs: 2, buffer: 16)
            .Take(70)
            .ToMaterialized(Sink.Seq<ImageRecord>(), Keep.Both)
            .Run(system.Materializer());
        var first = await taken;
        await left.WaitAsync(TimeSpan.FromSeconds(30)); // committed and out of the group
        Assert.Equal(70, first.Count);
        using (var probe = KafkaClients.CreateConsumer(kafka.Endpoint, GroupEpochProgress("resumable", 0)))
        {
            var committed = probe.Committed(Enumerable.Range(0, Partitions).Select(p => new TopicPartition(Topic, p)), TimeSpan.FromSeconds(10));
            Assert.Equal(70, committed.Sum(c => c.Offset == Offset.Unset ? 0 : c.Offset.Value));
        }

        // A new member (the same node restarted) picks up where the group stands.
        var rest = await KafkaRecordSource.CreateInGroup(kafka.Endpoint, split, "resumable", epochs: 2, buffer: 16)
            .RunWith(Sink.Seq<ImageRecord>(), system.Materializer());
        output.WriteLine($"first member: {first.Count} records of epoch 0; after restart: {rest.Count(r => r.Epoch == 0)} of epoch 0, {rest.Count(r => r.Epoch == 1)} of epoch 1");

        Assert.All(first, r => Assert.Equal(0, r.Epoch));
        Assert.Equal(Records - 70, rest.Count(r => r.Epoch == 0));
        Assert.Equal(AllKeys, first.Concat(rest.Where(r => r.Epoch == 0)).Select(r => r.Key).Order(StringComparer.Ordinal));
        Assert.Equal(AllKeys, rest.Where(r => r.Epoch == 1).Select(r => r.Key).Order(StringComparer.Ordinal));

        // The group is done: a member joining now reads nothing more.
        var after = await KafkaRecordSource.CreateInGroup(kafka.Endpoint, split, "resumable", epochs: 2)
            .RunWith(Sink.Seq<ImageRecord>(), system.Materializer());
        Assert.Empty(after);
    }

    [Fact]
    public async Task ATopicHoldingFewerRecordsThanTheManifestPromisesFailsTheStreamNamingThePartition()
    {
        var split = await PublishAsync();
        var promisingMore = split with { RecordsPerPartition = [48, 48, 60, 48, 48] };
        var e = await Assert.ThrowsAsync<DataLossException>(() => KafkaRecordSource.CreateInGroup(kafka.Endpoint, promisingMore, "lossy")
            .RunWith(Sink.Seq<ImageRecord>(), system.Materializer()));
        Assert.Contains("topic 'bit.data.grouped.train' partition 2 holds 48 of its 60 records: records were deleted or expired", e.Message);
    }

    private static string GroupEpochProgress(string group, int epoch) => $"{group}.epoch-{epoch}";

    public void Dispose()
    {
        system.Terminate().Wait();
        kafka.Dispose();
    }
}
