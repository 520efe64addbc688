using System.Threading.Channels;
using Akka;
using Akka.Util;
using BitActors.Streams.Datasets;
using BitActors.Streams.Telemetry;
using Confluent.Kafka;

namespace BitActors.Streams.Kafka;

/// <summary>
/// The thread behind <see cref="KafkaRecordSource.Create"/>: it owns the consumer, checks the topic against the
/// manifest, and reads epoch after epoch the manifest's offsets of every partition, handing the records to the stream
/// through a bounded channel (in ordered mode through a <see cref="PartitionRotation{T}"/> first).
/// </summary>
internal sealed class KafkaEpochReader
{
    /// <summary>How to read: see <see cref="KafkaRecordSource.Create"/>.</summary>
    public sealed record Options(int? Epochs, Func<int[], bool>? Accept, int Buffer, bool Ordered, int Seed, SplitPart? Part = null);

    private const int MinQueue = 8;
    private readonly Channel<ImageRecord> channel;
    private readonly CancellationTokenSource stop = new();
    private readonly Thread thread;
    private readonly KafkaEndpoint endpoint;
    private readonly SplitManifest split;
    private readonly Options options;
    private long emitted; // records emitted in the current epoch

    private KafkaEpochReader(KafkaEndpoint endpoint, SplitManifest split, Options options)
    {
        (this.endpoint, this.split, this.options) = (endpoint, split, options);
        channel = Channel.CreateBounded<ImageRecord>(new BoundedChannelOptions(Math.Max(1, options.Buffer)) { SingleReader = true, SingleWriter = true });
        thread = new Thread(Run) { IsBackground = true, Name = $"kafka-reader:{split.Topic}" };
    }

    public static KafkaEpochReader Start(KafkaEndpoint endpoint, SplitManifest split, Options options)
    {
        var reader = new KafkaEpochReader(endpoint, split, options);
        reader.thread.Start();
        return reader;
    }

    public async Task<Option<ImageRecord>> ReadAsync()
    {
        // Completion with an error (the thread failed) rethrows here and fails the stream.
        return await channel.Reader.WaitToReadAsync() && channel.Reader.TryRead(out var record)
            ? Option<ImageRecord>.Create(record)
            : Option<ImageRecord>.None;
    }

    public Task<Done> StopAsync()
    {
        stop.Cancel();
        thread.Join(TimeSpan.FromSeconds(10));
        return Task.FromResult(Done.Instance);
    }

    private void Run()
    {
        try
        {
            using var consumer = KafkaClients.CreateConsumer(endpoint, $"bitactors-reader-{Guid.NewGuid():N}");
            SplitOffsets.CheckPartitions(split, consumer, endpoint);
            for (int epoch = 0; options.Epochs is null || epoch < options.Epochs; epoch++)
            {
                // Every epoch: retention may delete records while a long run goes on.
                SplitOffsets.Verify(split, consumer, endpoint, stop.Token);
                emitted = 0;
                if (!ReadEpoch(consumer, epoch)) break;
                // Without end, an epoch the filters leave empty would be read again and again in silence.
                if (emitted == 0 && options.Epochs is null)
                    throw new InvalidDataException($"{split.Topic}: a whole epoch held no record this reader keeps (its classes" +
                        (options.Part is { } part ? $" in {part}" : "") + "): nothing to train on");
            }
            consumer.Close();
            channel.Writer.TryComplete();
        }
        catch (OperationCanceledException) { channel.Writer.TryComplete(); }
        catch (Exception e) { channel.Writer.TryComplete(e); }
    }

    private bool ReadEpoch(IConsumer<string, byte[]> consumer, int epoch)
    {
        // Next offset wanted of each partition still being read (an epoch's end is the manifest's, not the watermark's).
        var next = Enumerable.Range(0, split.Partitions).Where(p => split.EndOffset(p) > split.StartOffset(p)).ToDictionary(p => p, split.StartOffset);
        if (next.Count == 0) return false;
        long lag = next.Sum(kv => split.EndOffset(kv.Key) - kv.Value);
        BitMetrics.Lag(split.Topic, lag);
        var starts = next.Select(kv => new TopicPartitionOffset(split.Topic, kv.Key, kv.Value)).ToList();
        consumer.Assign(starts);
        // librdkafka keeps a partition's pause flag across assignments: resume what the last epoch paused.
        consumer.Resume(starts.Select(s => s.TopicPartition));
        var rotation = options.Ordered
            ? new PartitionRotation<ImageRecord>(PartitionRotation<ImageRecord>.Order(next.Keys, options.Seed, epoch), Math.Max(MinQueue, options.Buffer / next.Count))
            : null;
        while (next.Count > 0 || rotation is { Finished: false })
        {
            if (rotation is not null)
            {
                while (rotation.TryTake(out var turn))
                    if (turn is not null) Emit(turn);
                var resume = rotation.Resumable().Where(next.ContainsKey).Select(p => new TopicPartition(split.Topic, p)).ToList();
                if (resume.Count > 0) consumer.Resume(resume);
                if (rotation.Finished) break;
            }
            var result = BrokerRetry.Consume(consumer, endpoint.Client, stop.Token);
            if (result?.Message is null) continue;
            int p = result.Partition.Value;
            long offset = result.Offset.Value;
            // Below the position: delivered again after a pause; at or past the end: not part of the split.
            if (!next.TryGetValue(p, out var wanted) || offset < wanted || offset >= split.EndOffset(p)) continue;
            bool last = offset == split.EndOffset(p) - 1;
            if (last) next.Remove(p);
            else next[p] = offset + 1;
            BitMetrics.Lag(split.Topic, lag -= offset + 1 - wanted);
            var record = ToRecord(result, epoch);
            if (rotation is null)
            {
                if (record is not null) Emit(record);
            }
            else if (rotation.Add(p, record, last)) consumer.Pause([result.TopicPartition]);
            if (last) consumer.Pause([result.TopicPartition]);
        }
        consumer.Unassign();
        return true;
    }

    /// <summary>The record, or null when the filter leaves it out. A defective one (<see cref="RecordParser"/>) is passed on (whatever the filter) for the pipeline to refuse by name.</summary>
    private ImageRecord? ToRecord(ConsumeResult<string, byte[]> result, int epoch)
    {
        var record = RecordParser.Parse(result, epoch);
        return record.Defect is null && (options.Accept is not null && !options.Accept(record.Labels) || options.Part is { } part && !part.Contains(record.Index)) ? null : record;
    }

    // Blocks this thread (not the stream) while the stream is not asking for more.
    private void Emit(ImageRecord record)
    {
        emitted++;
        channel.Writer.WriteAsync(record, stop.Token).AsTask().GetAwaiter().GetResult();
    }
}
