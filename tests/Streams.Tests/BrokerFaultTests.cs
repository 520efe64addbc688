using System.Collections.Concurrent;
using System.Text;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;
using Confluent.Kafka;

namespace BitActors.Streams.Tests;

/// <summary>
/// Faults injected into the embedded broker while records are published and while epochs are read:
/// every acknowledged record is on the topic exactly once, every epoch holds each record exactly once,
/// and reading goes on once the broker is back. Outages last a few seconds (not the 10 s) to
/// keep the suite short; the clients' behaviour does not change with the length.
/// </summary>
public sealed class BrokerFaultTests : IDisposable
{
    private const int Records = 1200;
    /// <summary>3 s by default; BITACTORS_TEST_OUTAGE_SECONDS=10 runs the 10-second outages.</summary>
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(
        double.TryParse(Environment.GetEnvironmentVariable("BITACTORS_TEST_OUTAGE_SECONDS"), out var s) ? s : 3);
    private readonly ActorSystem system = ActorSystem.Create("broker-fault-tests");

    private static Message<string, byte[]> Message(int i) => new()
    {
        Key = $"k{i:D5}",
        Value = Encoding.UTF8.GetBytes($"value {i}"),
        Headers =
        [
            new Header(Topics.Headers.Labels, Encoding.UTF8.GetBytes((i % 10).ToString())),
            new Header(Topics.Headers.Index, Encoding.UTF8.GetBytes(i.ToString())),
        ],
    };

    private static IEnumerable<string> Keys(int from, int to) => Enumerable.Range(from, to - from).Select(i => $"k{i:D5}");

    /// <summary>Produces records [from, to) with partition = index mod partitions, as the publisher does; fails if any is not acknowledged.</summary>
    private static Task ProduceAsync(IProducer<string, byte[]> producer, string topic, int partitions, int from, int to) =>
        Task.WhenAll(Enumerable.Range(from, to - from).Select(i => Producing.ProduceAsync(producer, new TopicPartition(topic, i % partitions), Message(i))));

    private static void AssertTopicHoldsExactly(EmbeddedKafka kafka, string topic, int partitions, int records)
    {
        var counts = DatasetCatalog.CountRecords(kafka.Endpoint, topic, partitions);
        var expected = Enumerable.Range(0, partitions).Select(p => (long)Enumerable.Range(0, records).Count(i => i % partitions == p));
        Assert.Equal(expected, counts);
    }

    /// <summary>Each epoch holds every key exactly once.</summary>
    private static void AssertExactEpochs(IReadOnlyList<ImageRecord> read, int epochs, int records)
    {
        Assert.Equal(Enumerable.Range(0, epochs), read.Select(r => r.Epoch).Distinct().Order());
        foreach (var epoch in read.GroupBy(r => r.Epoch))
        {
            Assert.Equal(records, epoch.Count());
            Assert.Equal(Keys(0, records), epoch.Select(r => r.Key).Order(StringComparer.Ordinal));
        }
    }

    private Task<IReadOnlyList<ImageRecord>> ReadEpochsAsync(EmbeddedKafka kafka, string topic, int epochs, Action<int>? onRecord = null) =>
        ReadEpochsAsync(kafka, TopicSplits.WholeTopic(kafka.Endpoint, topic), epochs, onRecord);

    private async Task<IReadOnlyList<ImageRecord>> ReadEpochsAsync(EmbeddedKafka kafka, SplitManifest split, int epochs, Action<int>? onRecord = null)
    {
        int seen = 0;
        return await KafkaRecordSource.Create(kafka.Endpoint, split, epochs, buffer: 16)
            .Select(r => { onRecord?.Invoke(++seen); return r; })
            .RunWith(Sink.Seq<ImageRecord>(), system.Materializer())
            .WaitAsync(TimeSpan.FromSeconds(90));
    }

    private static async Task OutageAsync(Action down, Action up)
    {
        down();
        await Task.Delay(Outage);
        up();
    }

    [Fact]
    public async Task RecordsProducedWhileTheBrokerIsDownAreDeliveredExactlyOnceWhenItReturns()
    {
        using var kafka = new EmbeddedKafka();
        kafka.CreateTopic("down-publish", 3);
        using var producer = KafkaClients.CreateProducer(kafka.Endpoint);
        await ProduceAsync(producer, "down-publish", 3, 0, Records / 2);
        kafka.SetBrokerDown(1);
        var restore = Task.Delay(Outage).ContinueWith(_ => kafka.SetBrokerUp(1));
        await ProduceAsync(producer, "down-publish", 3, Records / 2, Records);
        await restore;
        AssertTopicHoldsExactly(kafka, "down-publish", 3, Records);
        AssertExactEpochs(await ReadEpochsAsync(kafka, "down-publish", 1), 1, Records);
    }

    [Fact]
    public async Task RecordsProducedWhileEveryBrokerIsDownAreDeliveredExactlyOnceWhenTheyReturn()
    {
        using var kafka = new EmbeddedKafka(brokers: 3);
        kafka.CreateTopic("all-down-publish", 3, replicationFactor: 3);
        using var producer = KafkaClients.CreateProducer(kafka.Endpoint);
        await ProduceAsync(producer, "all-down-publish", 3, 0, Records / 2);
        kafka.SetAllBrokersDown();
        var restore = Task.Delay(Outage).ContinueWith(_ => kafka.SetAllBrokersUp());
        await ProduceAsync(producer, "all-down-publish", 3, Records / 2, Records);
        await restore;
        AssertTopicHoldsExactly(kafka, "all-down-publish", 3, Records);
    }

    [Fact]
    public async Task APublishStartedWhileTheBrokerIsDownWaitsForItAndPublishesEverythingOnce()
    {
        using var kafka = new EmbeddedKafka();
        var source = TestData.WriteIdx(train: 200, test: 50);
        var dataset = IdxDataset.Load("while-down", source.FullName);
        var warnings = new ConcurrentQueue<string>();
        var clientLines = new ConcurrentQueue<string>();
        void Collect(string w) => warnings.Enqueue(w);
        void CollectClientLog(int level, string line) => clientLines.Enqueue(line);
        KafkaDiagnostics.Warning += Collect;
        KafkaDiagnostics.ClientLog += CollectClientLog;
        try
        {
            kafka.SetBrokerDown(1);
            var restore = Task.Delay(Outage).ContinueWith(_ => kafka.SetBrokerUp(1));
            var result = await new DatasetPublisher(kafka, system.Materializer()).PublishAsync(dataset).WaitAsync(TimeSpan.FromSeconds(90));
            await restore;
            Assert.Equal(200, result.Manifest.Split("train").Records);
            AssertTopicHoldsExactly(kafka, "bit.data.while-down.train", result.Manifest.Split("train").Partitions, 200);
        }
        finally
        {
            KafkaDiagnostics.Warning -= Collect;
            KafkaDiagnostics.ClientLog -= CollectClientLog;
        }
        // The progress output said what was going on while it waited.
        Assert.Contains(warnings, w => w.Contains("unreachable") && w.Contains("retrying"));
        // librdkafka's own connection failures came to the log handler (not raw to stderr), from clients built
        // while the broker was down.
        Assert.Contains(clientLines, l => l.StartsWith("librdkafka ", StringComparison.Ordinal) && l.Contains("FAIL"));
    }

    [Fact]
    public async Task InjectedRetriableProduceErrorsNeitherLoseNorDuplicateRecords()
    {
        using var kafka = new EmbeddedKafka();
        kafka.CreateTopic("produce-errors", 2);
        using var producer = KafkaClients.CreateProducer(kafka.Endpoint);
        await ProduceAsync(producer, "produce-errors", 2, 0, 100);
        kafka.PushRequestErrors(KafkaApi.Produce,
            ErrorCode.NotEnoughReplicas, ErrorCode.RequestTimedOut, ErrorCode.NotLeaderForPartition, ErrorCode.LeaderNotAvailable, ErrorCode.NotEnoughReplicasAfterAppend);
        await ProduceAsync(producer, "produce-errors", 2, 100, Records);
        AssertTopicHoldsExactly(kafka, "produce-errors", 2, Records);
        AssertExactEpochs(await ReadEpochsAsync(kafka, "produce-errors", 1), 1, Records);
    }

    [Fact]
    public async Task PartitionLeadersMovingDuringAPublishLoseNothing()
    {
        using var kafka = new EmbeddedKafka(brokers: 3);
        kafka.CreateTopic("leader-publish", 3, replicationFactor: 3);
        using var producer = KafkaClients.CreateProducer(kafka.Endpoint);
        await ProduceAsync(producer, "leader-publish", 3, 0, Records / 2);
        for (int p = 0; p < 3; p++) kafka.MovePartitionLeader("leader-publish", p, (p + 1) % 3 + 1);
        await ProduceAsync(producer, "leader-publish", 3, Records / 2, Records);
        AssertTopicHoldsExactly(kafka, "leader-publish", 3, Records);
    }

    [Fact]
    public async Task AHighRoundTripTimeSlowsPublishingAndReadingButLosesNothing()
    {
        using var kafka = new EmbeddedKafka();
        kafka.CreateTopic("slow", 2);
        kafka.SetRoundTripTime(TimeSpan.FromMilliseconds(300));
        using (var producer = KafkaClients.CreateProducer(kafka.Endpoint))
            await ProduceAsync(producer, "slow", 2, 0, Records);
        AssertTopicHoldsExactly(kafka, "slow", 2, Records);
        AssertExactEpochs(await ReadEpochsAsync(kafka, "slow", 2), 2, Records);
    }

    private static async Task<EmbeddedKafka> PublishedAsync(string topic, int brokers = 1)
    {
        var kafka = new EmbeddedKafka(brokers);
        kafka.CreateTopic(topic, 3, replicationFactor: brokers);
        using var producer = KafkaClients.CreateProducer(kafka.Endpoint);
        await ProduceAsync(producer, topic, 3, 0, Records);
        return kafka;
    }

    [Fact]
    public async Task TheDatasetCatalogIsReadThroughInjectedFetchErrorsAndAnOutage()
    {
        using var kafka = new EmbeddedKafka();
        var source = TestData.WriteIdx(train: 30, test: 10);
        var published = await new DatasetPublisher(kafka, system.Materializer()).PublishAsync(IdxDataset.Load("catalogued", source.FullName));
        // Fetch errors: each one failed the catalog's read before it went through BrokerRetry.
        kafka.PushRequestErrors(KafkaApi.Fetch, ErrorCode.NotLeaderForPartition, ErrorCode.RequestTimedOut, ErrorCode.KafkaStorageError);
        Assert.Equal(published.Manifest.ContentHash, DatasetCatalog.Read(kafka.Endpoint, "catalogued").ContentHash);
        // The broker down when the read starts: it waits, then reads.
        var outage = OutageAsync(() => kafka.SetBrokerDown(1), () => kafka.SetBrokerUp(1));
        await Task.Delay(200);
        Assert.Equal(published.Manifest.ContentHash, (await Task.Run(() => DatasetCatalog.Read(kafka.Endpoint, "catalogued"))).ContentHash);
        await outage;
        Assert.Equal([30, 10], published.Manifest.Splits.Select(s => (int)s.Records));
    }

    [Fact]
    public async Task TopicRequestsAreServedThroughFetchErrorsAndABadRequestIsSkipped()
    {
        using var kafka = new EmbeddedKafka();
        using var cts = new CancellationTokenSource();
        var warnings = new ConcurrentQueue<string>();
        void Collect(string w) => warnings.Enqueue(w);
        KafkaDiagnostics.Warning += Collect;
        try
        {
            var serving = TopicRequests.ServeAsync(kafka, null, cts.Token);
            kafka.PushRequestErrors(KafkaApi.Fetch, ErrorCode.NotLeaderForPartition, ErrorCode.RequestTimedOut);
            using (var producer = KafkaClients.CreateProducer(kafka.Endpoint))
                await producer.ProduceAsync(TopicRequests.Topic, new Message<string, byte[]> { Key = "junk", Value = Encoding.UTF8.GetBytes("{not json") });
            await TopicRequests.SendAsync(kafka.Endpoint, new TopicSpec("after-junk", 6), CancellationToken.None);
            using var admin = KafkaClients.CreateAdmin(kafka.Endpoint);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (KafkaClients.PartitionCount(admin, "after-junk", TimeSpan.FromSeconds(5)) != 6 && DateTime.UtcNow < deadline) await Task.Delay(100);
            Assert.Equal(6, KafkaClients.PartitionCount(admin, "after-junk", TimeSpan.FromSeconds(5)));
            Assert.False(serving.IsCompleted, "serving ended on a bad request");
            cts.Cancel();
            await serving;
        }
        finally { KafkaDiagnostics.Warning -= Collect; }
        Assert.Contains(warnings, w => w.Contains("not a topic request"));
    }

    [Fact]
    public async Task EpochsStartedWhileTheBrokerIsDownBeginWhenItReturnsAndAreExact()
    {
        using var kafka = await PublishedAsync("down-at-start");
        var split = TopicSplits.WholeTopic(kafka.Endpoint, "down-at-start");
        var outage = OutageAsync(() => kafka.SetBrokerDown(1), () => kafka.SetBrokerUp(1));
        var read = await ReadEpochsAsync(kafka, split, 2);
        await outage;
        AssertExactEpochs(read, 2, Records);
    }

    [Fact]
    public async Task ReadingGoesOnAfterTheBrokerReturnsMidEpochAndEveryEpochIsExact()
    {
        using var kafka = await PublishedAsync("down-mid-epoch");
        Task? outage = null;
        var read = await ReadEpochsAsync(kafka, "down-mid-epoch", 3,
            seen => { if (seen == Records / 2) outage = OutageAsync(() => kafka.SetBrokerDown(1), () => kafka.SetBrokerUp(1)); });
        Assert.NotNull(outage);
        await outage;
        AssertExactEpochs(read, 3, Records);
    }

    [Fact]
    public async Task ReadingGoesOnAfterEveryBrokerWasDownAndEveryEpochIsExact()
    {
        using var kafka = await PublishedAsync("all-down-read", brokers: 3);
        Task? outage = null;
        var read = await ReadEpochsAsync(kafka, "all-down-read", 3,
            seen => { if (seen == Records / 2) outage = OutageAsync(kafka.SetAllBrokersDown, kafka.SetAllBrokersUp); });
        Assert.NotNull(outage);
        await outage;
        AssertExactEpochs(read, 3, Records);
    }

    [Fact]
    public async Task PartitionLeadersMovingWhileEpochsAreReadLoseAndRepeatNothing()
    {
        using var kafka = await PublishedAsync("leader-read", brokers: 3);
        var read = await ReadEpochsAsync(kafka, "leader-read", 3, seen =>
        {
            // Move every partition's leader twice: in the middle of the first epoch and of the second.
            if (seen == Records / 2 || seen == Records + Records / 2)
                for (int p = 0; p < 3; p++) kafka.MovePartitionLeader("leader-read", p, (seen / Records + p + 1) % 3 + 1);
        });
        AssertExactEpochs(read, 3, Records);
    }

    [Fact]
    public async Task InjectedRetriableFetchErrorsNeitherLoseNorRepeatRecordsInAnEpoch()
    {
        using var kafka = await PublishedAsync("fetch-errors");
        kafka.PushRequestErrors(KafkaApi.Fetch,
            ErrorCode.NotLeaderForPartition, ErrorCode.RequestTimedOut, ErrorCode.LeaderNotAvailable, ErrorCode.UnknownTopicOrPart, ErrorCode.KafkaStorageError);
        AssertExactEpochs(await ReadEpochsAsync(kafka, "fetch-errors", 2), 2, Records);
    }

    public void Dispose() => system.Terminate().Wait();
}
