using System.Text;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;
using BitActors.Streams.Images;
using Confluent.Kafka;

namespace BitActors.Streams.Tests;

/// <summary>
/// The bad-input corpus at training time: records written to a data topic by some other producer. Each
/// bad record is refused with its reason on the dead-letter topic (once, however many epochs read it),
/// and every good record is trained on exactly once per epoch.
/// </summary>
public sealed class BadInputTrainingTests : IDisposable
{
    private const string Topic = "bit.data.corpus.train";
    private const int DatasetClasses = 10;
    private readonly ActorSystem system = ActorSystem.Create("bad-input-training-tests");

    private static Message<string, byte[]> Record(string key, byte[]? value, string? labels, long index)
    {
        var headers = new Headers { { Topics.Headers.Index, Encoding.UTF8.GetBytes(index.ToString()) } };
        if (labels is not null) headers.Add(Topics.Headers.Labels, Encoding.UTF8.GetBytes(labels));
        return new Message<string, byte[]> { Key = key, Value = value!, Headers = headers };
    }

    [Fact]
    public async Task EachBadRecordIsDeadLetteredWithItsReasonOnceAndEveryGoodRecordIsTrainedOnOncePerEpoch()
    {
        using var kafka = new EmbeddedKafka();
        kafka.CreateTopic(Topic, 2);
        kafka.CreateTopic(Topics.DeadLetter, 1);
        const int good = 24;
        var messages = Enumerable.Range(0, good)
            .Select(i => Record($"good/{i}", i % 2 == 0 ? BadImages.Png(seed: i) : BadImages.Jpeg(seed: i), (i % 3).ToString(), i)).ToList();
        var bad = new (Message<string, byte[]> Message, string Reason)[]
        {
            (Record("bad/truncated-png", BadImages.TruncatedPng(), "0", 100), "corrupt or truncated"),
            (Record("bad/truncated-jpeg", BadImages.TruncatedJpeg(), "1", 101), "corrupt or truncated"),
            (Record("bad/random", BadImages.RandomBytes(), "2", 102), "not a decodable image"),
            (Record("bad/empty", [], "0", 103), "empty value"),
            (Record("bad/null", null, "0", 104), "empty value"),
            (Record("bad/bomb", BadImages.PngClaiming(50_000, 50_000), "1", 105), "50000×50000"),
            (Record("bad/label-out-of-range", BadImages.Png(), "99", 106), "label 99 is not one of this task's classes"),
            (Record("bad/label-negative", BadImages.Png(), "-3", 107), "label -3 is not one of this task's classes"),
            (Record("bad/no-labels", BadImages.Png(), null, 108), "missing header bit.labels"),
            (Record("bad/labels-not-numbers", BadImages.Png(), "cat", 109), "bad bit.labels header 'cat'"),
            (Record("bad/labels-empty", BadImages.Png(), "", 110), "empty bit.labels header"),
        };
        // Another task's record (class 5 of 10): neither trained on nor a dead letter.
        messages.Add(Record("other-task", BadImages.Png(), "5", 200));
        messages.AddRange(bad.Select(b => b.Message));
        using (var producer = KafkaClients.CreateProducer(kafka.Endpoint))
            for (int i = 0; i < messages.Count; i++)
                await producer.ProduceAsync(new TopicPartition(Topic, i % 2), messages[i]);

        var classes = ClassSubset.Range(0, 3);
        var rejected = new List<RejectedRecord>();
        IReadOnlyList<ImageBatch> batches;
        using (var deadLetters = new DeadLetters(kafka.Endpoint))
        {
            var records = KafkaRecordSource.Create(kafka.Endpoint, TopicSplits.WholeTopic(kafka.Endpoint, Topic), epochs: 2, accept: classes.AcceptFrom(DatasetClasses), ordered: true);
            batches = await ImagePipelines.Train(records, classes, new AugmentSettings(24, 24, 3), batchSize: 4, shuffleBuffer: 1, seed: 0, parallelism: 2,
                    onRejected: r => { lock (rejected) rejected.Add(r); deadLetters.Send(r); })
                .RunWith(Sink.Seq<ImageBatch>(), system.Materializer());
            Assert.Equal(bad.Length, deadLetters.Sent);
        }

        // Good records: each once per epoch (24 per epoch, labels 0,1,2 eight times each).
        Assert.Equal(2 * good / 4, batches.Count);
        Assert.Equal(Enumerable.Range(0, 2 * good).Select(i => i % 3).Order(), batches.SelectMany(b => b.Labels).Order());
        // Bad records: refused in both epochs, with their reasons.
        Assert.Equal(2 * bad.Length, rejected.Count);
        foreach (var (message, reason) in bad)
        {
            var refusals = rejected.Where(r => r.Record.Index == long.Parse(Encoding.UTF8.GetString(message.Headers.GetLastBytes(Topics.Headers.Index)))).ToList();
            Assert.Equal(2, refusals.Count);
            Assert.All(refusals, r => Assert.Contains(reason, r.Reason));
        }

        // The dead-letter topic holds each bad record once, with its reason, key and source position.
        using var consumer = KafkaClients.CreateConsumer(kafka.Endpoint, "corpus-dead-letters");
        consumer.Assign(new TopicPartitionOffset(Topics.DeadLetter, 0, 0));
        var letters = new List<ConsumeResult<string, byte[]>>();
        while (letters.Count < bad.Length && consumer.Consume(TimeSpan.FromSeconds(10)) is { } letter) letters.Add(letter);
        Assert.Equal(bad.Select(b => b.Message.Key).Order(), letters.Select(l => l.Message.Key).Order());
        Assert.Equal(bad.Length, DatasetCatalog.CountRecords(kafka.Endpoint, Topics.DeadLetter, 1).Single());
        foreach (var (message, reason) in bad)
        {
            var letter = letters.Single(l => l.Message.Key == message.Key && Encoding.UTF8.GetString(l.Message.Headers.GetLastBytes(Topics.Headers.Index)) ==
                Encoding.UTF8.GetString(message.Headers.GetLastBytes(Topics.Headers.Index)));
            Assert.Contains(reason, Encoding.UTF8.GetString(letter.Message.Headers.GetLastBytes(DeadLetters.ReasonHeader)));
            Assert.Equal(Topic, Encoding.UTF8.GetString(letter.Message.Headers.GetLastBytes("bit.source.topic")));
        }
    }

    public void Dispose() => system.Terminate().Wait();
}
