using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using BitActors.Streams.Images;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;

namespace BitActors.Streams.Tests;

public sealed class ImagePipelineTests : IDisposable
{
    private readonly ActorSystem system = ActorSystem.Create("pipeline-tests");

    private static ImageRecord Record(long index, int label, byte value) =>
        new("t", 0, index, $"k{index}", index, [label], ImageCodec.EncodePng(Enumerable.Repeat(value, 28 * 28).ToArray(), 28, 28, 1), 0);

    [Fact]
    public void DecodedPngPixelsRoundTripToTheInputRangeMinusOneToOne()
    {
        using var image = ImageCodec.Decode(ImageCodec.EncodePng(Enumerable.Repeat((byte)255, 16).ToArray(), 4, 4, 1));
        var chw = Augment.Eval(image, new AugmentSettings(4, 4, 1));
        Assert.All(chw, v => Assert.Equal(1f, v, 3));
    }

    [Fact]
    public void CorruptBytesRaiseACorruptImageError()
    {
        Assert.Throws<CorruptImageException>(() => ImageCodec.Decode([1, 2, 3, 4]));
        var png = ImageCodec.EncodePng(new byte[28 * 28], 28, 28, 1);
        Assert.Throws<CorruptImageException>(() => ImageCodec.Decode(png[..(png.Length / 2)]));
    }

    [Fact]
    public async Task ARecordReadTwiceInAnEpochIsRefusedOnceAndTrainedOnInTheNext()
    {
        // Partition 0 redelivered from offset 2 (a rebalance), then the next epoch reads everything once more.
        var first = Enumerable.Range(0, 6).Select(i => Record(i, 0, 10)).ToList();
        var records = first.Concat(first.Skip(2).Take(2)).Concat(first.Select(r => r with { Epoch = 1 })).ToList();
        var rejected = new List<RejectedRecord>();

        var passed = await RereadRecords.Refuse(Source.From(records), r => rejected.Add(r)).RunWith(Sink.Seq<ImageRecord>(), system.Materializer());

        Assert.Equal(12, passed.Count);
        Assert.Equal(new long[] { 2, 3 }, rejected.Select(r => r.Record.Offset));
        Assert.Contains("read twice in epoch 0: partition 0 offset 2 (already past offset 5)", rejected[0].Reason);
    }

    [Fact]
    public async Task TrainBatchesHaveTheCropShapeTaskLabelsAndSkipBadRecords()
    {
        var records = Enumerable.Range(0, 40).Select(i => Record(i, 5 + i % 5, (byte)(i * 5))).ToList();
        records.Add(records[0] with { Index = 99, Offset = 99, Value = [0, 1, 2] }); // corrupt image
        records.Add(Record(100, 1, 0));                                        // class outside the task
        var rejected = new List<RejectedRecord>();
        var batches = await ImagePipelines.Train(Source.From(records), ClassSubset.Range(5, 5), new AugmentSettings(36, 32, 1),
                batchSize: 8, shuffleBuffer: 16, seed: 1, parallelism: 2, onRejected: r => { lock (rejected) rejected.Add(r); })
            .RunWith(Sink.Seq<ImageBatch>(), system.Materializer());
        Assert.Equal(5, batches.Count);
        Assert.All(batches, b => Assert.Equal(new long[] { 8, 1, 32, 32 }, b.Shape));
        Assert.All(batches, b => Assert.Equal(8 * 32 * 32, b.Pixels.Length));
        Assert.Equal(Enumerable.Range(0, 40).Select(i => i % 5).Order(), batches.SelectMany(b => b.Labels).Order());
        Assert.Equal(new long[] { 99, 100 }, rejected.Select(r => r.Record.Index).Order());
    }

    [Fact]
    public async Task MultiLabelRecordsBecomeMultiHotTargetsOfTheTasksClasses()
    {
        var records = new[]
        {
            Record(0, 5, 10) with { Labels = [5, 7] },
            Record(1, 6, 20) with { Labels = [6, 2, 9] },   // 2 is outside the task: dropped
        };
        var batch = (await ImagePipelines.Train(Source.From(records), ClassSubset.Range(5, 5), new AugmentSettings(28, 28, 1),
                batchSize: 2, shuffleBuffer: 1, seed: 0, parallelism: 1, multiLabel: true)
            .RunWith(Sink.Seq<ImageBatch>(), system.Materializer())).Single();
        Assert.Equal(new[] { 0, 1 }, batch.Labels);
        Assert.Equal(new float[] { 1, 0, 1, 0, 0, /* */ 0, 1, 0, 0, 1 }, batch.Targets);
    }

    [Fact]
    public async Task RejectedRecordsReachTheDeadLetterTopicWithTheirReason()
    {
        using var kafka = new EmbeddedKafka();
        kafka.CreateTopic(BitActors.Streams.Datasets.Topics.DeadLetter, 1);
        var corrupt = Record(7, 5, 0) with { Value = [1, 2, 3], Topic = "bit.data.x.train", Offset = 42 };
        using (var deadLetters = new DeadLetters(kafka.Endpoint))
        {
            await ImagePipelines.Train(Source.From(new[] { corrupt, Record(8, 5, 0) }), ClassSubset.Range(5, 5), new AugmentSettings(28, 28, 1),
                    batchSize: 1, shuffleBuffer: 1, seed: 0, parallelism: 1, onRejected: deadLetters.Send)
                .RunWith(Sink.Ignore<ImageBatch>(), system.Materializer());
            Assert.Equal(1, deadLetters.Sent);
        }
        using var consumer = KafkaClients.CreateConsumer(kafka.Endpoint, "dead-letter-test");
        consumer.Assign(new Confluent.Kafka.TopicPartitionOffset(BitActors.Streams.Datasets.Topics.DeadLetter, 0, 0));
        var letter = consumer.Consume(TimeSpan.FromSeconds(10));
        Assert.NotNull(letter);
        Assert.Equal("k7", letter.Message.Key);
        Assert.Equal(new byte[] { 1, 2, 3 }, letter.Message.Value);
        string Header(string name) => System.Text.Encoding.UTF8.GetString(letter.Message.Headers.GetLastBytes(name));
        Assert.Contains("corrupt", Header(DeadLetters.ReasonHeader));
        Assert.Equal("bit.data.x.train", Header("bit.source.topic"));
        Assert.Equal("42", Header("bit.source.offset"));
    }

    [Fact]
    public async Task ShuffleBufferEmitsAPermutationInAnotherOrder()
    {
        var output = await Source.From(Enumerable.Range(0, 200)).Via(new ShuffleBuffer<int>(32, seed: 7))
            .RunWith(Sink.Seq<int>(), system.Materializer());
        Assert.Equal(Enumerable.Range(0, 200), output.Order());
        Assert.NotEqual(Enumerable.Range(0, 200), output);
    }

    public void Dispose() => system.Terminate().Wait();
}
