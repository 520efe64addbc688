using BitActors.Streams.Kafka;
using Confluent.Kafka;

namespace BitActors.Streams.Tests;

public class EmbeddedKafkaTests
{
    [Fact]
    public async Task ProducedRecordsComeBackThroughTheRealClient()
    {
        using var kafka = new EmbeddedKafka();
        kafka.CreateTopic("roundtrip", 3);
        using (var producer = KafkaClients.CreateProducer(kafka.Endpoint))
        {
            var deliveries = Enumerable.Range(0, 100).Select(i => producer.ProduceAsync(
                new TopicPartition("roundtrip", i % 3),
                new Message<string, byte[]> { Key = $"k{i}", Value = BitConverter.GetBytes(i), Headers = [new Header("bit.index", BitConverter.GetBytes(i))] }));
            await Task.WhenAll(deliveries);
        }

        using var consumer = KafkaClients.CreateConsumer(kafka.Endpoint, "roundtrip-test");
        consumer.Subscribe("roundtrip");
        var seen = new HashSet<int>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (seen.Count < 100 && DateTime.UtcNow < deadline)
        {
            var r = consumer.Consume(TimeSpan.FromMilliseconds(500));
            if (r is null) continue;
            var value = BitConverter.ToInt32(r.Message.Value);
            Assert.Equal($"k{value}", r.Message.Key);
            Assert.Equal(value % 3, r.Partition.Value);
            seen.Add(value);
        }
        Assert.Equal(100, seen.Count);
    }

    [Fact]
    public async Task TopicsCanBeRequestedFromAnotherProcessThroughTheControlTopic()
    {
        using var kafka = new EmbeddedKafka();
        using var cts = new CancellationTokenSource();
        var serving = TopicRequests.ServeAsync(kafka, null, cts.Token);
        var admin = new KafkaTopicAdmin(kafka.Endpoint);
        await admin.EnsureTopicAsync(new TopicSpec("requested", 6)); // not 4: the embedded broker auto-creates with 4
        using var client = KafkaClients.CreateAdmin(kafka.Endpoint);
        Assert.Equal(6, KafkaClients.PartitionCount(client, "requested", TimeSpan.FromSeconds(5)));
        cts.Cancel();
        await serving;
    }

    [Fact]
    public async Task AnExistingTopicWithTooFewPartitionsIsRefused()
    {
        using var kafka = new EmbeddedKafka();
        kafka.CreateTopic("narrow", 2);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => new KafkaTopicAdmin(kafka.Endpoint).EnsureTopicAsync(new TopicSpec("narrow", 8)));
        Assert.Contains("2 partitions", e.Message);
    }

    [Fact]
    public async Task TheEmbeddedBrokerTakesAnyRecordSizeButDropsOlderRecordsPastItsPartitionRetention()
    {
        using var kafka = new EmbeddedKafka();
        kafka.CreateTopic("huge", 1);
        var config = KafkaClients.Producer(kafka.Endpoint);
        config.MessageMaxBytes = 16_000_000; // past the producer's own limit, to see what the broker does
        using var producer = new ProducerBuilder<string, byte[]>(config).Build();
        using var consumer = KafkaClients.CreateConsumer(kafka.Endpoint, "huge-test");
        (long, long) Watermarks()
        {
            var w = consumer.QueryWatermarkOffsets(new TopicPartition("huge", 0), TimeSpan.FromSeconds(10));
            return (w.Low.Value, w.High.Value);
        }

        var report = await producer.ProduceAsync("huge", new Message<string, byte[]> { Key = "k", Value = new byte[8_000_000] });
        Assert.Equal(PersistenceStatus.Persisted, report.Status);   // no message.max.bytes check
        Assert.Equal((0L, 1L), Watermarks());
        await producer.ProduceAsync("huge", new Message<string, byte[]> { Key = "k", Value = new byte[1000] });
        var (low, high) = Watermarks();
        Assert.Equal(2L, high);
        Assert.True(low >= 1, $"low watermark {low}: the 8 MB record should be gone"); // silently (measured: the small one too)
    }

    [Fact]
    public void AnUnreachableBrokerIsReportedByAddress()
    {
        var e = Assert.Throws<KafkaUnreachableException>(() => KafkaClients.CheckReachable(new KafkaEndpoint("127.0.0.1:1"), TimeSpan.FromSeconds(2)));
        Assert.Contains("127.0.0.1:1", e.Message);
    }

    [Theory]
    [InlineData(60_000, 60_000L * 400, 15)]
    [InlineData(10, 1000L, 1)]
    [InlineData(100_000, 100L, 5)]
    public void PartitionsKeepEachPartitionFarBelowTheEmbeddedBrokersRetention(long records, long bytes, int expected)
    {
        Assert.Equal(expected, TopicSizing.PartitionsFor(records, bytes));
    }
}
