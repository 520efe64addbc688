using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;
using Confluent.Kafka;

namespace BitActors.Streams.Tests;

/// <summary>
/// The validation hold-out (BiT's train[98%:]) and the shares of the rest: fixed by the index, disjoint, nested, close to
/// their fractions in every class of a class-sorted split, and honoured by both Kafka readers before a record is emitted.
/// </summary>
public sealed class SplitPartTests : IDisposable
{
    private readonly ActorSystem system = ActorSystem.Create("split-part-tests");
    private readonly EmbeddedKafka kafka = new();

    [Fact]
    public void TheHoldOutAndTheTrainingPartAreDisjointCoverTheSplitAndHoldTheirShareOfEveryClass()
    {
        var validation = SplitPart.HeldOut(0.02)!;
        var training = SplitPart.Training(0.02)!;
        // 10 classes published one after the other, 6,000 images each (a class-sorted folder): every class keeps about 2 %.
        for (int c = 0; c < 10; c++)
        {
            var indexes = Enumerable.Range(c * 6000, 6000).Select(i => (long)i).ToList();
            int held = indexes.Count(validation.Contains);
            Assert.All(indexes, i => Assert.NotEqual(validation.Contains(i), training.Contains(i)));
            Assert.InRange(held, 80, 160); // 120 expected; 4.5 standard deviations either side
        }
    }

    [Fact]
    public void SmallerSharesOfTheTrainingPartAreInsideLargerOnesAndNeverReachValidation()
    {
        var indexes = Enumerable.Range(0, 50_000).Select(i => (long)i).ToList();
        var tenth = indexes.Where(SplitPart.Training(0.02, 0.1)!.Contains).ToHashSet();
        var third = indexes.Where(SplitPart.Training(0.02, 0.3)!.Contains).ToHashSet();
        var all = indexes.Where(SplitPart.Training(0.02)!.Contains).ToHashSet();
        var held = indexes.Where(SplitPart.HeldOut(0.02)!.Contains).ToHashSet();

        Assert.Subset(third, tenth);
        Assert.Subset(all, third);
        Assert.Empty(all.Intersect(held));
        Assert.InRange(tenth.Count, 4_600, 5_200);   // 0.1 × 0.98 × 50,000 = 4,900
        Assert.InRange(third.Count, 14_300, 15_100); // 14,700
        Assert.Equal(50_000, all.Count + held.Count);
        Assert.Equal(4_900, SplitPart.Training(0.02, 0.1)!.Expected(50_000));
    }

    [Fact]
    public void NoHoldOutAndTheWholeSplitNeedNoFilterAndOutOfRangeSharesAreRefused()
    {
        Assert.Null(SplitPart.Training(0));
        Assert.Null(SplitPart.HeldOut(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => SplitPart.Training(1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => SplitPart.Training(0.02, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => SplitPart.Training(0.02, 1.5));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task BothReadersEmitOnlyTheRecordsOfTheirPart(bool grouped)
    {
        const int Records = 400;
        var topic = $"bit.data.parts{(grouped ? "-group" : "")}.train";
        kafka.CreateTopic(topic, 2);
        using (var producer = KafkaClients.CreateProducer(kafka.Endpoint))
            for (int i = 0; i < Records; i++)
                await producer.ProduceAsync(new TopicPartition(topic, i % 2), DatasetPublisher.ToMessage("x", "train", new LabelledImage(i, [i % 3], [1])));
        var split = new SplitManifest("train", topic, 2, Records, [Records / 2, Records / 2], [0, 0]);

        async Task<HashSet<long>> Read(SplitPart? part, string group) =>
            (await (grouped
                ? KafkaRecordSource.CreateInGroup(kafka.Endpoint, split, group, epochs: 1, part: part).MapMaterializedValue(_ => Akka.NotUsed.Instance)
                : KafkaRecordSource.Create(kafka.Endpoint, split, epochs: 1, part: part))
                .RunWith(Sink.Seq<ImageRecord>(), system.Materializer()).WaitAsync(TimeSpan.FromSeconds(90))).Select(r => r.Index).ToHashSet();

        var held = await Read(SplitPart.HeldOut(0.1), "held");
        var trained = await Read(SplitPart.Training(0.1), "trained");
        Assert.Equal(Enumerable.Range(0, Records).Select(i => (long)i).Where(SplitPart.HeldOut(0.1)!.Contains).ToHashSet(), held);
        Assert.NotEmpty(held);
        Assert.Empty(held.Intersect(trained));
        Assert.Equal(Records, held.Count + trained.Count);
    }

    [Fact]
    public async Task AReaderWithoutEndWhoseFiltersLeaveAnEpochEmptyFailsNamingTheTopicInsteadOfReadingForever()
    {
        const string topic = "bit.data.empty-part.train";
        kafka.CreateTopic(topic, 1);
        using (var producer = KafkaClients.CreateProducer(kafka.Endpoint))
            for (int i = 0; i < 20; i++)
                await producer.ProduceAsync(new TopicPartition(topic, 0), DatasetPublisher.ToMessage("x", "train", new LabelledImage(i, [i % 2], [1])));
        var split = new SplitManifest("train", topic, 1, 20, [20], [0]);

        // Class 1 only, in a hold-out of 1 %: none of the 10 images of class 1 is held out (checked), so every epoch is empty.
        var part = SplitPart.HeldOut(0.01)!;
        Assert.DoesNotContain(Enumerable.Range(0, 20).Where(i => i % 2 == 1), i => part.Contains(i));
        var read = KafkaRecordSource.Create(kafka.Endpoint, split, epochs: null, accept: l => l[0] == 1, part: part)
            .RunWith(Sink.Seq<ImageRecord>(), system.Materializer());

        var failure = await Assert.ThrowsAsync<InvalidDataException>(() => read.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains(topic, failure.Message);
        Assert.Contains("validation hold-out", failure.Message);
    }

    public void Dispose()
    {
        system.Dispose();
        kafka.Dispose();
    }
}
