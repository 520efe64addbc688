using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;

namespace BitActors.Streams.Tests;

/// <summary>
/// Publishing a class-sorted ImageFolder (10 classes × 30 tiny PNGs): records written in a seeded random order,
/// position k of the order on partition k mod P, indexes kept; per-class counts and the seed in the manifest;
/// a content hash that does not depend on the order; topics decided by what the broker is.
/// </summary>
public sealed class StreamingPublishTests : IDisposable
{
    private const int Classes = 10, PerClass = 30;
    private readonly DirectoryInfo root = Directory.CreateTempSubdirectory("bitactors-sorted");
    private readonly ActorSystem system = ActorSystem.Create("streaming-publish-tests");
    private readonly EmbeddedKafka kafka = new();

    public StreamingPublishTests()
    {
        for (int c = 0; c < Classes; c++)
        {
            Directory.CreateDirectory(Path.Combine(root.FullName, $"class{c}"));
            for (int i = 0; i < PerClass; i++)
                File.WriteAllBytes(Path.Combine(root.FullName, $"class{c}", $"{i:D3}.png"), BadImages.Png(size: 8, seed: c * 100 + i));
        }
    }

    private async Task<IReadOnlyList<ImageRecord>> Records(SplitManifest split) =>
        await KafkaRecordSource.Create(kafka.Endpoint, split).RunWith(Sink.Seq<ImageRecord>(), system.Materializer()).WaitAsync(TimeSpan.FromSeconds(60));

    [Fact]
    public async Task RecordsAreWrittenInTheSeededOrderRoundRobinOverPartitionsKeepingTheirIndexes()
    {
        var dataset = ImageFolderDataset.Load("sorted", root.FullName);
        var result = await new DatasetPublisher(kafka, system.Materializer(), options: new PublishOptions(Partitions: 4, Seed: 3)).PublishAsync(dataset);

        var split = result.Manifest.Split("train");
        Assert.Equal(4, split.Partitions);
        Assert.Equal(new long[] { 75, 75, 75, 75 }, split.RecordsPerPartition);
        Assert.Equal(Enumerable.Repeat((long)PerClass, Classes), split.ClassCounts!);
        Assert.Equal(3, split.OrderSeed);
        Assert.Equal(0, split.Skipped);

        var records = await Records(split);
        Assert.Equal(Enumerable.Range(0, 300).Select(i => (long)i), records.Select(r => r.Index).Order());
        Assert.All(records, r => Assert.Equal((int)(r.Index / PerClass), r.Labels.Single()));   // indexes class folder by class folder
        Assert.All(records, r => Assert.Equal($"sorted/train/{r.Index:D8}", r.Key));
        var order = new SeededOrder(300, seed: 3);
        foreach (var partition in records.GroupBy(r => r.Partition))
        {
            var indexes = partition.OrderBy(r => r.Offset).Select(r => r.Index).ToList();
            // Position k of the order went to partition k mod 4, in order.
            Assert.Equal(Enumerable.Range(0, 75).Select(j => order.At(j * 4 + partition.Key)), indexes);
            Assert.True(indexes.Take(30).Select(i => i / PerClass).Distinct().Count() >= 7, $"partition {partition.Key} starts nearly single-class");
        }
    }

    [Fact]
    public async Task TheContentHashDoesNotDependOnTheSeedSoTheSameFolderIsAlreadyPublished()
    {
        var first = await new DatasetPublisher(kafka, system.Materializer(), options: new PublishOptions(Seed: 1)).PublishAsync(ImageFolderDataset.Load("same", root.FullName));
        using var other = new EmbeddedKafka();
        var elsewhere = await new DatasetPublisher(other, system.Materializer(), options: new PublishOptions(Seed: 2)).PublishAsync(ImageFolderDataset.Load("same", root.FullName));
        Assert.Equal(first.Manifest.ContentHash, elsewhere.Manifest.ContentHash);

        var again = await new DatasetPublisher(kafka, system.Materializer(), options: new PublishOptions(Seed: 9)).PublishAsync(ImageFolderDataset.Load("same", root.FullName));
        Assert.True(again.AlreadyPublished);
        Assert.Equal(1, again.Manifest.Split("train").OrderSeed);
    }

    [Fact]
    public async Task AnExternalBrokerGetsTheDefaultPartitionsRecordsKeptForeverAndAWarningForAnExistingTopicThatExpires()
    {
        var admin = new ExternalBroker(kafka, new TopicConfig(604_800_000, -1, null));
        var result = await new DatasetPublisher(admin, system.Materializer()).PublishAsync(ImageFolderDataset.Load("external", root.FullName));

        var split = result.Manifest.Split("train");
        Assert.Equal(12, split.Partitions);
        Assert.Equal(300, split.RecordsPerPartition.Sum());
        Assert.InRange(split.RecordsPerPartition.Max() - split.RecordsPerPartition.Min(), 0, 1);
        Assert.Contains(admin.Created, s => s.Name == "bit.data.external.train" && s.Partitions == 12 && s.KeepForever);
        Assert.Contains(result.Warnings!, w => w.Contains("topic 'bit.data.external.train' deletes its records (retention.ms=604800000 (7 days))") && w.Contains("retention.ms=-1"));
    }

    [Fact]
    public async Task TheTopicsMaxMessageBytesLowersTheRecordLimit()
    {
        var admin = new ExternalBroker(kafka, new TopicConfig(-1, -1, MaxMessageBytes: 200));
        kafka.CreateTopic("bit.data.small-topic.train", 12);
        var e = await Assert.ThrowsAsync<OversizedImageException>(() => new DatasetPublisher(admin, system.Materializer()).PublishAsync(ImageFolderDataset.Load("small-topic", root.FullName)));
        Assert.Contains("300 image(s)", e.Message);
        Assert.Contains("200 bytes", e.Message);
        Assert.Contains("max.message.bytes", e.Message);
    }

    [Fact]
    public async Task AnEmbeddedBrokerOfAnotherProcessIsRecognisedByItsControlTopic()
    {
        Assert.False(new KafkaTopicAdmin(kafka.Endpoint).IsEmbedded);
        using var cts = new CancellationTokenSource();
        var serving = TopicRequests.ServeAsync(kafka, null, cts.Token);
        try
        {
            var admin = new KafkaTopicAdmin(kafka.Endpoint);
            Assert.True(admin.IsEmbedded);
            var result = await new DatasetPublisher(admin, system.Materializer(), options: new PublishOptions(Partitions: 2)).PublishAsync(ImageFolderDataset.Load("served", root.FullName));
            Assert.Equal(2, result.Manifest.Split("train").Partitions);
            Assert.Null(await admin.DescribeTopicAsync("bit.data.served.train"));   // the mock describes no configs
            Assert.Null(await admin.BrokerMaxMessageBytesAsync());
        }
        finally
        {
            cts.Cancel();
            await serving;
        }
    }

    /// <summary>The embedded broker seen as an external one that describes its topics (the mock describes none).</summary>
    private sealed class ExternalBroker(EmbeddedKafka kafka, TopicConfig existing) : ITopicAdmin
    {
        public List<TopicSpec> Created { get; } = [];

        public KafkaEndpoint Endpoint => kafka.Endpoint;

        public bool IsEmbedded => false;

        public Task EnsureTopicAsync(TopicSpec spec, CancellationToken cancellationToken = default)
        {
            Created.Add(spec);
            return kafka.EnsureTopicAsync(spec, cancellationToken);
        }

        public Task<TopicConfig?> DescribeTopicAsync(string topic, CancellationToken cancellationToken = default)
        {
            using var admin = KafkaClients.CreateAdmin(kafka.Endpoint);
            return Task.FromResult(KafkaClients.PartitionCount(admin, topic, TimeSpan.FromSeconds(5)) > 0 ? existing : null);
        }

        public Task<long?> BrokerMaxMessageBytesAsync(CancellationToken cancellationToken = default) => Task.FromResult<long?>(1_048_588);
    }

    public void Dispose()
    {
        kafka.Dispose();
        system.Terminate().Wait();
        root.Delete(true);
    }
}
