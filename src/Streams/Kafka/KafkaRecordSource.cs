using System.Text;
using System.Threading.Channels;
using Akka;
using Akka.Streams.Dsl;
using Akka.Util;
using BitActors.Streams.Datasets;
using Confluent.Kafka;

namespace BitActors.Streams.Kafka;

/// <summary>
/// An image record as read from a data topic, with its position and epoch. <c>Defect</c>: why the record
/// cannot be used (a missing or unreadable labels header), found while reading; the pipeline refuses it.
/// </summary>
public sealed record ImageRecord(string Topic, int Partition, long Offset, string Key, long Index, int[] Labels, byte[] Value, int Epoch, string? Defect = null);

/// <summary>
/// Source of the records of a data topic, epoch by epoch. An epoch is exactly the records below each
/// partition's high watermark at the epoch's start, read from the low watermark: no record is missed or
/// counted twice. The consumer has one owner, a dedicated thread (its calls block), which hands records
/// to the stream through a bounded channel: when the stream does not pull, the channel fills and the
/// thread waits, so demand drives consumption. Partitions are assigned, not subscribed: no group
/// membership to lose while waiting. Cancelling the stream stops the thread and closes the consumer.
/// </summary>
public static class KafkaRecordSource
{
    /// <param name="epochs">Number of passes; null = until the stream is cancelled.</param>
    /// <param name="accept">Filter on the labels header, applied before any payload leaves the thread.</param>
    /// <param name="ordered">
    /// Emit each epoch in a fixed order, whatever order the broker delivers in: offset 0 of every partition,
    /// then offset 1 of every partition, and so on (for topics published with partition = index mod P,
    /// that is index order). Records that arrive early wait in memory, so this costs some buffering;
    /// it is what makes a run repeatable and resumable.
    /// </param>
    public static Source<ImageRecord, NotUsed> Create(KafkaEndpoint endpoint, string topic, int? epochs = 1, Func<int[], bool>? accept = null,
        int buffer = 1024, bool ordered = false) =>
        Source.UnfoldResourceAsync<ImageRecord, EpochReader>(
            () => Task.FromResult(EpochReader.Start(endpoint, topic, epochs, accept, buffer, ordered)),
            reader => reader.ReadAsync(),
            reader => reader.StopAsync());

    /// <summary>
    /// The records of a split read as a member of consumer group <paramref name="group"/>: members with the same
    /// group (trainer nodes) share the split's partitions and together read every record exactly once per
    /// epoch, each epoch bounded by the end offsets <paramref name="split"/> promises; progress is committed,
    /// so a member that restarts goes on where the group stands. See <see cref="GroupEpochReader"/>.
    /// </summary>
    /// <param name="epochs">Number of passes of the whole group; null = until the stream is cancelled.</param>
    /// <returns>The records; materializes a task that completes when this member has committed what the stream pulled and left the group.</returns>
    public static Source<ImageRecord, Task> CreateInGroup(KafkaEndpoint endpoint, SplitManifest split, string group, int? epochs = 1,
        Func<int[], bool>? accept = null, int buffer = 1024) =>
        Source.FromGraph(new GroupRecordSource(() => GroupEpochReader.Start(endpoint, split, group, epochs, accept, buffer)));

    public static int[] ParseLabels(Headers? headers, string topic, long offset)
    {
        var header = headers?.FirstOrDefault(h => h.Key == Topics.Headers.Labels)
            ?? throw new InvalidDataException($"{topic}@{offset}: missing header {Topics.Headers.Labels}");
        var text = Encoding.UTF8.GetString(header.GetValueBytes() ?? []);
        int[] labels;
        try { labels = text.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray(); }
        catch (Exception e) when (e is FormatException or OverflowException) { throw new InvalidDataException($"{topic}@{offset}: bad {Topics.Headers.Labels} header '{Shorten(text)}'"); }
        return labels.Length > 0 ? labels : throw new InvalidDataException($"{topic}@{offset}: empty {Topics.Headers.Labels} header");
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";

    public static (int[] Labels, string? Defect) TryParseLabels(Headers? headers, string topic, long offset)
    {
        try { return (ParseLabels(headers, topic, offset), null); }
        catch (InvalidDataException e) { return ([], e.Message); }
    }

    public static long ParseIndex(Headers? headers, long fallback)
    {
        var header = headers?.FirstOrDefault(h => h.Key == Topics.Headers.Index);
        return header is not null && long.TryParse(Encoding.UTF8.GetString(header.GetValueBytes()), out var index) ? index : fallback;
    }

    internal sealed class EpochReader
    {
        private readonly Channel<ImageRecord> channel;
        private readonly CancellationTokenSource stop = new();
        private readonly Thread thread;
        private readonly KafkaEndpoint endpoint;
        private readonly string topic;
        private readonly int? epochs;
        private readonly Func<int[], bool>? accept;
        private readonly bool ordered;

        private EpochReader(KafkaEndpoint endpoint, string topic, int? epochs, Func<int[], bool>? accept, int buffer, bool ordered)
        {
            (this.endpoint, this.topic, this.epochs, this.accept, this.ordered) = (endpoint, topic, epochs, accept, ordered);
            channel = Channel.CreateBounded<ImageRecord>(new BoundedChannelOptions(buffer) { SingleReader = true, SingleWriter = true });
            thread = new Thread(Run) { IsBackground = true, Name = $"kafka-reader:{topic}" };
        }

        public static EpochReader Start(KafkaEndpoint endpoint, string topic, int? epochs, Func<int[], bool>? accept, int buffer, bool ordered)
        {
            var reader = new EpochReader(endpoint, topic, epochs, accept, buffer, ordered);
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
                var partitions = Partitions(consumer);
                for (int epoch = 0; epochs is null || epoch < epochs; epoch++)
                {
                    if (!ReadEpoch(consumer, partitions, epoch)) break;
                }
                consumer.Close();
                channel.Writer.TryComplete();
            }
            catch (OperationCanceledException) { channel.Writer.TryComplete(); }
            catch (Exception e) { channel.Writer.TryComplete(e); }
        }

        private List<TopicPartition> Partitions(IConsumer<string, byte[]> consumer)
        {
            using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
            var count = KafkaClients.PartitionCount(admin, topic, TimeSpan.FromSeconds(30));
            if (count == 0) throw new InvalidOperationException($"topic '{topic}' does not exist at {endpoint}; publish the dataset first");
            return Enumerable.Range(0, count).Select(p => new TopicPartition(topic, p)).ToList();
        }

        private bool ReadEpoch(IConsumer<string, byte[]> consumer, List<TopicPartition> partitions, int epoch)
        {
            var ends = new Dictionary<int, long>();
            var starts = new List<TopicPartitionOffset>();
            foreach (var tp in partitions)
            {
                var w = BrokerRetry.Watermarks(consumer, tp, endpoint.Client, stop.Token);
                if (w.High > w.Low)
                {
                    ends[tp.Partition.Value] = w.High.Value;
                    starts.Add(new TopicPartitionOffset(tp, w.Low));
                }
            }
            if (ends.Count == 0) return false;
            consumer.Assign(starts);
            // librdkafka keeps a partition's pause flag across assignments: resume what the last epoch paused.
            consumer.Resume(starts.Select(s => s.TopicPartition));
            // In ordered mode, records wait per partition (null: filtered out, but it still takes its turn).
            var waiting = ends.Keys.ToDictionary(p => p, _ => new Queue<ImageRecord?>());
            var turns = ends.Keys.Order().ToList();
            int turn = 0;
            while (ends.Count > 0 || (ordered && waiting.Values.Any(q => q.Count > 0)))
            {
                if (ordered && turns.Count > 0)
                {
                    var p = turns[turn % turns.Count];
                    if (waiting[p].TryDequeue(out var next))
                    {
                        if (next is not null) Emit(next);
                        turn++;
                        continue;
                    }
                    if (!ends.ContainsKey(p))
                    {
                        turns.Remove(p); // partition done: the next one takes its place in the rotation
                        continue;
                    }
                }
                var result = BrokerRetry.Consume(consumer, endpoint.Client, stop.Token);
                if (result is null) continue;
                int partition = result.Partition.Value;
                if (!ends.TryGetValue(partition, out var end) || result.Offset.Value >= end) continue;
                if (result.Offset.Value == end - 1)
                {
                    ends.Remove(partition);
                    consumer.Pause([result.TopicPartition]);
                }
                // A record without usable labels is passed on (whatever the filter) for the pipeline to refuse by name.
                var (labels, defect) = TryParseLabels(result.Message.Headers, topic, result.Offset.Value);
                var record = defect is null && accept is not null && !accept(labels) ? null : new ImageRecord(topic, partition, result.Offset.Value,
                    result.Message.Key ?? "", ParseIndex(result.Message.Headers, result.Offset.Value), labels, result.Message.Value ?? [], epoch, defect);
                if (ordered) waiting[partition].Enqueue(record);
                else if (record is not null) Emit(record);
            }
            consumer.Unassign();
            return true;
        }

        // Blocks this thread (not the stream) while the stream is not asking for more.
        private void Emit(ImageRecord record) => channel.Writer.WriteAsync(record, stop.Token).AsTask().GetAwaiter().GetResult();
    }
}
