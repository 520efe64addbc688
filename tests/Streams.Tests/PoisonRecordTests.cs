using System.Text;
using Akka;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using BitActors.Streams.Datasets;
using BitActors.Streams.Images;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;
using Confluent.Kafka;

namespace BitActors.Streams.Tests;

/// <summary>
/// Records whose headers or value no reader can use (missing, empty, null-valued or garbled headers; an empty or
/// null value), written by some other producer: in every reader, alone or in a consumer group, each is
/// dead-lettered once with its reason, every good record is trained on once per epoch, and the run goes on; the
/// grouped reader commits past them.
/// </summary>
public sealed class PoisonRecordTests : IDisposable
{
    private const string Topic = "bit.data.poison.train";
    private readonly ActorSystem system = ActorSystem.Create("poison-record-tests");
    private readonly EmbeddedKafka kafka = new();

    public void Dispose()
    {
        system.Terminate().Wait();
        kafka.Dispose();
    }

    /// <summary>A record with the given headers: a null header value is written as a header without a value.</summary>
    private static Message<string, byte[]> Record(string key, byte[]? value, params (string Key, string? Value)[] headers)
    {
        var h = new Headers();
        foreach (var (k, v) in headers) h.Add(new Header(k, v is null ? null : Encoding.UTF8.GetBytes(v)));
        return new Message<string, byte[]> { Key = key, Value = value!, Headers = h };
    }

    private static (string, string?) Labels(string? v) => (Topics.Headers.Labels, v);

    private static (string, string?) Index(long i) => (Topics.Headers.Index, i.ToString());

    /// <summary>Each kind of poison, with (part of) the reason it is dead-lettered under.</summary>
    private static readonly (Message<string, byte[]> Message, string Reason)[] Poison =
    [
        (Record("bad/no-labels", BadImages.Png(), Index(100)), "missing header bit.labels"),
        (Record("bad/labels-empty", BadImages.Png(), Labels(""), Index(101)), "empty bit.labels header"),
        (Record("bad/labels-null", BadImages.Png(), Labels(null), Index(102)), "header bit.labels has no value"),
        (Record("bad/labels-garbled", BadImages.Png(), Labels("1;x"), Index(103)), "bad bit.labels header '1;x'"),
        (Record("bad/labels-overflow", BadImages.Png(), Labels("99999999999"), Index(104)), "bad bit.labels header"),
        (Record("bad/index-null", BadImages.Png(), Labels("0"), (Topics.Headers.Index, null)), "header bit.index has no value"),
        (Record("bad/index-garbled", BadImages.Png(), Labels("1"), (Topics.Headers.Index, "twelve")), "bad bit.index header 'twelve'"),
        (Record("bad/value-empty", [], Labels("2"), Index(107)), "empty value"),
        (Record("bad/value-null", null, Labels("0"), Index(108)), "empty value"),
        (Record("bad/nothing", null), "missing header bit.labels"),
    ];

    private const int Good = 12;

    private async Task<SplitManifest> PublishAsync()
    {
        kafka.CreateTopic(Topic, 2);
        kafka.CreateTopic(Topics.DeadLetter, 1);
        var messages = Enumerable.Range(0, Good).Select(i => Record($"good/{i}", BadImages.Png(seed: i), Labels((i % 3).ToString()), Index(i))).ToList();
        messages.AddRange(Poison.Select(p => p.Message));
        using var producer = KafkaClients.CreateProducer(kafka.Endpoint);
        for (int i = 0; i < messages.Count; i++)
            await producer.ProduceAsync(new TopicPartition(Topic, i % 2), messages[i]);
        return TopicSplits.WholeTopic(kafka.Endpoint, Topic);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task EveryKindOfPoisonRecordIsDeadLetteredOnceWithItsReasonAndTheReadGoesOn(bool grouped)
    {
        var split = await PublishAsync();
        var classes = ClassSubset.Range(0, 3);
        var accept = classes.AcceptFrom(10);
        var records = grouped
            ? KafkaRecordSource.CreateInGroup(kafka.Endpoint, split, "poisoned", epochs: 2, accept: accept).MapMaterializedValue(_ => NotUsed.Instance)
            : KafkaRecordSource.Create(kafka.Endpoint, split, epochs: 2, accept: accept);
        var rejected = new List<RejectedRecord>();
        IReadOnlyList<ImageBatch> batches;
        using (var deadLetters = new DeadLetters(kafka.Endpoint))
        {
            batches = await ImagePipelines.Train(records, classes, new AugmentSettings(24, 24, 3), batchSize: 4, shuffleBuffer: 1, seed: 0, parallelism: 2,
                    onRejected: r => { lock (rejected) rejected.Add(r); deadLetters.Send(r); })
                .RunWith(Sink.Seq<ImageBatch>(), system.Materializer())
                .WaitAsync(TimeSpan.FromMinutes(1));
            Assert.Equal(Poison.Length, deadLetters.Sent);
        }

        // The good records: each once per epoch.
        Assert.Equal(2 * Good, batches.Sum(b => b.Count));
        Assert.Equal(Enumerable.Range(0, 2 * Good).Select(i => i % 3).Order(), batches.SelectMany(b => b.Labels).Order());
        // The poison: refused in both epochs with its reason, and on the dead-letter topic once.
        foreach (var (message, reason) in Poison)
        {
            var refusals = rejected.Where(r => r.Record.Key == message.Key).ToList();
            Assert.Equal(2, refusals.Count);
            Assert.All(refusals, r => Assert.Contains(reason, r.Reason));
        }
        using var consumer = KafkaClients.CreateConsumer(kafka.Endpoint, "poison-dead-letters");
        consumer.Assign(new TopicPartitionOffset(Topics.DeadLetter, 0, 0));
        var letters = new List<ConsumeResult<string, byte[]>>();
        while (letters.Count < Poison.Length && consumer.Consume(TimeSpan.FromSeconds(10)) is { } letter) letters.Add(letter);
        Assert.Equal(Poison.Select(p => p.Message.Key).Order(StringComparer.Ordinal), letters.Select(l => l.Message.Key).Order(StringComparer.Ordinal));
        foreach (var (message, reason) in Poison)
            Assert.Contains(reason, Encoding.UTF8.GetString(letters.Single(l => l.Message.Key == message.Key).Message.Headers.GetLastBytes(DeadLetters.ReasonHeader)));

        if (!grouped) return;
        // The group committed past the poison: both epochs are done on every partition.
        for (int epoch = 0; epoch < 2; epoch++)
        {
            using var probe = KafkaClients.CreateConsumer(kafka.Endpoint, $"poisoned.epoch-{epoch}");
            var committed = probe.Committed(Enumerable.Range(0, split.Partitions).Select(p => new TopicPartition(Topic, p)), TimeSpan.FromSeconds(10));
            Assert.Equal(Enumerable.Range(0, split.Partitions).Select(split.EndOffset), committed.OrderBy(c => c.Partition.Value).Select(c => c.Offset.Value));
        }
    }
}
