using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;
using Confluent.Kafka;

namespace BitActors.Streams.Tests;

/// <summary>
/// The assign-mode reader on the embedded broker: each epoch is exactly the manifest's records; in ordered mode the
/// partitions take turns in a seeded order that changes every epoch, with bounded queues; a topic that lost records
/// is refused before anything is emitted.
/// </summary>
public sealed class KafkaRecordSourceTests : IDisposable
{
    private const int Partitions = 4, PerPartition = 30;
    private readonly ActorSystem system = ActorSystem.Create("record-source-tests");
    private readonly EmbeddedKafka kafka = new(brokers: 2);

    /// <summary>Partition p holds indexes p, p + 4, …; produced partition 3 first and 0 last, so the broker's order is not the turn order.</summary>
    private async Task<SplitManifest> PublishAsync(string topic)
    {
        kafka.CreateTopic(topic, Partitions);
        using var producer = KafkaClients.CreateProducer(kafka.Endpoint);
        foreach (var p in new[] { 3, 2, 1, 0 })
            for (int i = p; i < Partitions * PerPartition; i += Partitions)
                await producer.ProduceAsync(new TopicPartition(topic, p), DatasetPublisher.ToMessage("x", "train", new LabelledImage(i, [i % 10], BitConverter.GetBytes(i))));
        return new SplitManifest("train", topic, Partitions, Partitions * PerPartition, Enumerable.Repeat((long)PerPartition, Partitions).ToArray(), new long[Partitions]);
    }

    private async Task<IReadOnlyList<ImageRecord>> ReadAsync(SplitManifest split, int epochs, int seed, int buffer = 1024, Func<int[], bool>? accept = null) =>
        await KafkaRecordSource.Create(kafka.Endpoint, split, epochs, accept, buffer, ordered: true, seed: seed)
            .RunWith(Sink.Seq<ImageRecord>(), system.Materializer()).WaitAsync(TimeSpan.FromSeconds(90));

    /// <summary>What ordered mode must emit in an epoch: one record of each partition in turn, in the seeded order.</summary>
    private static IEnumerable<long> Expected(int seed, int epoch, Func<long, bool> keep) =>
        Enumerable.Range(0, PerPartition).SelectMany(k => PartitionRotation<object>.Order(Enumerable.Range(0, Partitions), seed, epoch).Select(p => (long)(p + Partitions * k)))
            .Where(keep);

    [Fact]
    public async Task OrderedEpochsTakePartitionsInASeededOrderThatChangesEachEpochAndRepeatsForTheSameSeed()
    {
        var split = await PublishAsync("bit.data.turns.train");
        var first = await ReadAsync(split, epochs: 3, seed: 7, accept: l => l[0] % 2 == 0);
        var again = await ReadAsync(split, epochs: 3, seed: 7, accept: l => l[0] % 2 == 0);
        var other = await ReadAsync(split, epochs: 3, seed: 8, accept: l => l[0] % 2 == 0);

        Assert.Equal(first.Select(r => (r.Index, r.Epoch)), again.Select(r => (r.Index, r.Epoch)));
        for (int epoch = 0; epoch < 3; epoch++)
            Assert.Equal(Expected(7, epoch, i => i % 10 % 2 == 0), first.Where(r => r.Epoch == epoch).Select(r => r.Index));
        var orders = Enumerable.Range(0, 3).Select(e => string.Join(",", PartitionRotation<object>.Order(Enumerable.Range(0, Partitions), 7, e))).ToList();
        Assert.Equal(3, orders.Distinct().Count());
        Assert.NotEqual(first.Select(r => r.Index), other.Select(r => r.Index));
        Assert.Equal(first.Select(r => r.Index).Order(), other.Select(r => r.Index).Order());
    }

    [Fact]
    public async Task BoundedQueuesKeepTheExactOrderWhenOnePartitionIsDeliveredFarAhead()
    {
        var split = await PublishAsync("bit.data.ahead.train");
        // Partition 0 on a fast broker, the others behind a slow one: partition 0's records arrive long before their turn.
        for (int p = 1; p < Partitions; p++) kafka.MovePartitionLeader(split.Topic, p, 2);
        kafka.MovePartitionLeader(split.Topic, 0, 1);
        kafka.SetRoundTripTime(TimeSpan.FromMilliseconds(40), brokerId: 2);
        // buffer 8: at most 8 records wait per partition; partition 0 is paused and resumed again and again.
        var read = await ReadAsync(split, epochs: 2, seed: 3, buffer: 8);
        for (int epoch = 0; epoch < 2; epoch++)
            Assert.Equal(Expected(3, epoch, _ => true), read.Where(r => r.Epoch == epoch).Select(r => r.Index));
    }

    [Fact]
    public async Task RecordsAppendedAfterTheManifestAreNotPartOfAnEpoch()
    {
        var split = await PublishAsync("bit.data.appended.train");
        using (var producer = KafkaClients.CreateProducer(kafka.Endpoint))
            await producer.ProduceAsync(new TopicPartition(split.Topic, 1), DatasetPublisher.ToMessage("x", "train", new LabelledImage(999, [1], [1])));
        var read = await KafkaRecordSource.Create(kafka.Endpoint, split, epochs: 2).RunWith(Sink.Seq<ImageRecord>(), system.Materializer());
        Assert.Equal(2 * Partitions * PerPartition, read.Count);
        Assert.DoesNotContain(read, r => r.Index == 999);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ATopicHoldingFewerRecordsThanItsManifestIsRefusedBeforeAnyRecordIsEmitted(bool ordered)
    {
        var split = await PublishAsync($"bit.data.lost-{ordered}.train");
        var promisingMore = split with { Records = split.Records + 12, RecordsPerPartition = [PerPartition, PerPartition, PerPartition, PerPartition + 12] };
        int emitted = 0;
        var e = await Assert.ThrowsAsync<DataLossException>(() => KafkaRecordSource.Create(kafka.Endpoint, promisingMore, epochs: 1, ordered: ordered)
            .Select(r => { Interlocked.Increment(ref emitted); return r; })
            .RunWith(Sink.Ignore<ImageRecord>(), system.Materializer()).WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("topic 'bit.data.lost-" + ordered.ToString() + ".train' partition 3 holds 30 of its 42 records: records were deleted or expired (retention?)", e.Message);
        Assert.Equal(0, emitted);
    }

    [Fact]
    public async Task AManifestWithMorePartitionsThanTheTopicIsRefused()
    {
        var split = await PublishAsync("bit.data.fewer.train");
        var wider = split with { Partitions = 6, RecordsPerPartition = [.. split.RecordsPerPartition, 5, 5], StartOffsets = new long[6] };
        var e = await Assert.ThrowsAsync<DataLossException>(() => KafkaRecordSource.Create(kafka.Endpoint, wider).RunWith(Sink.Ignore<ImageRecord>(), system.Materializer()));
        Assert.Contains("has 4 partitions but its manifest promises 6", e.Message);
    }

    public void Dispose()
    {
        system.Terminate().Wait();
        kafka.Dispose();
    }
}
