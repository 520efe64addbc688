using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;
using Confluent.Kafka;

namespace BitActors.Streams.Tests;

/// <summary>
/// A grouped training feed's ledger: the position a checkpoint records brings a resumed member back to exactly the
/// records that checkpoint had not trained on, whatever order a shuffle trained them in.
/// </summary>
public sealed class GroupLedgerTests : IDisposable
{
    private const string Topic = "bit.data.ledger.train";
    private const int Partitions = 2, Records = 100;
    private readonly ActorSystem system = ActorSystem.Create("ledger-tests");
    private readonly EmbeddedKafka kafka = new();

    private async Task<SplitManifest> PublishAsync()
    {
        kafka.CreateTopic(Topic, Partitions);
        using var producer = KafkaClients.CreateProducer(kafka.Endpoint);
        await Task.WhenAll(Enumerable.Range(0, Records).Select(i => producer.ProduceAsync(new TopicPartition(Topic, i % Partitions),
            DatasetPublisher.ToMessage("ledger", "train", new LabelledImage(i, [i % 10], BitConverter.GetBytes(i))))));
        return new SplitManifest("train", Topic, Partitions, Records, Enumerable.Repeat((long)Records / Partitions, Partitions).ToArray(), new long[Partitions]);
    }

    private static ImageBatch BatchOf(IEnumerable<ImageRecord> records) =>
        new([], [0], []) { Records = records.Select(r => new RecordId(r.Epoch, r.Partition, r.Offset)).ToArray() };

    [Fact]
    public async Task AMemberResumedFromACheckpointsPositionTrainsEachRecordOncePerEpochThoughTheShuffleTrainedThemOutOfOrder()
    {
        var split = await PublishAsync();
        var ledger = new GroupLedger();
        var feed = ledger.StartFeed(0);
        var (left, pulled) = KafkaRecordSource.CreateInGroup(kafka.Endpoint, split, "shuffled", epochs: 2, buffer: 8, ledger: feed)
            .Take(70)
            .ToMaterialized(Sink.Seq<ImageRecord>(), Keep.Both)
            .Run(system.Materializer());
        var first = await pulled;
        await left.WaitAsync(TimeSpan.FromSeconds(30));

        // Before the checkpoint: the first 40 records pulled and every other one of the next 30 (the rest sat in a shuffle
        // buffer); one refused. After it, the rest is trained too, but the crash takes the model back to the checkpoint.
        var trained = first.Take(40).Concat(first.Skip(40).Where((_, i) => i % 2 == 0)).ToList();
        ledger.Trained(BatchOf(trained.Skip(1)));
        feed.Refused(trained[0]);
        var position = ledger.PositionAt(5);
        ledger.Trained(BatchOf(first.Except(trained)));
        Assert.NotNull(position);

        // A new process resumes from the checkpoint (only its recorded position carries over) and reads on to the end.
        var resumed = new GroupLedger();
        resumed.Resume(5, position);
        var rest = await KafkaRecordSource.CreateInGroup(kafka.Endpoint, split, "shuffled", epochs: 2, buffer: 8, ledger: resumed.StartFeed(5))
            .RunWith(Sink.Seq<ImageRecord>(), system.Materializer());

        var keys = Enumerable.Range(0, Records).Select(i => $"ledger/train/{i:D8}").Order(StringComparer.Ordinal);
        Assert.Equal(keys, trained.Concat(rest.Where(r => r.Epoch == 0)).Select(r => r.Key).Order(StringComparer.Ordinal));
        Assert.Equal(keys, rest.Where(r => r.Epoch == 1).Select(r => r.Key).Order(StringComparer.Ordinal));
    }

    public void Dispose()
    {
        system.Dispose();
        kafka.Dispose();
    }
}
