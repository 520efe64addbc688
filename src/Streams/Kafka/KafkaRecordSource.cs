using Akka;
using Akka.Streams.Dsl;
using BitActors.Streams.Datasets;
using Confluent.Kafka;

namespace BitActors.Streams.Kafka;

/// <summary>
/// An image record as read from a data topic, with its position and epoch. <c>Defect</c>: why the record
/// cannot be used (a missing or unreadable labels header), found while reading; the pipeline refuses it.
/// </summary>
public sealed record ImageRecord(string Topic, int Partition, long Offset, string Key, long Index, int[] Labels, byte[] Value, int Epoch, string? Defect = null);

/// <summary>
/// Source of the records of a data split, epoch by epoch. An epoch is exactly the records its manifest promises,
/// offsets [start, end) of each partition: no record is missed or counted twice, and records appended later are not
/// part of it. Before the first record the topic is checked against the manifest (<see cref="SplitOffsets"/>): a
/// topic that lost records is refused, not half-read. The consumer has one owner, a dedicated thread (its calls
/// block), which hands records to the stream through a bounded channel: when the stream does not pull, the channel
/// fills and the thread waits, so demand drives consumption. Partitions are assigned, not subscribed: no group
/// membership to lose while waiting. Cancelling the stream stops the thread and closes the consumer.
/// </summary>
public static class KafkaRecordSource
{
    /// <param name="split">The split to read, from the dataset's manifest.</param>
    /// <param name="epochs">Number of passes; null = until the stream is cancelled.</param>
    /// <param name="accept">Filter on the labels header, applied before any payload leaves the thread.</param>
    /// <param name="buffer">Records handed over but not yet pulled; in ordered mode also what the partitions' queues hold together (at least 8 each).</param>
    /// <param name="ordered">
    /// Emit each epoch in an exact order, whatever order the broker delivers in: the partitions take turns, one
    /// record each, in a random order drawn from <paramref name="seed"/> and the epoch (a different order each epoch,
    /// the same one for the same seed). Records that arrive early wait in bounded per-partition queues (a partition
    /// whose queue is full is paused). It is what makes a run repeatable and resumable. Unordered: broker order.
    /// </param>
    /// <param name="seed">Seed of the ordered mode's turn order.</param>
    /// <param name="part">Only the records of this part of the split (by index: <see cref="SplitPart"/>), filtered with <paramref name="accept"/>; null: all.</param>
    public static Source<ImageRecord, NotUsed> Create(KafkaEndpoint endpoint, SplitManifest split, int? epochs = 1, Func<int[], bool>? accept = null,
        int buffer = 1024, bool ordered = false, int seed = 0, SplitPart? part = null) =>
        Source.UnfoldResourceAsync<ImageRecord, KafkaEpochReader>(
            () => Task.FromResult(KafkaEpochReader.Start(endpoint, split, new KafkaEpochReader.Options(epochs, accept, buffer, ordered, seed, part))),
            reader => reader.ReadAsync(),
            reader => reader.StopAsync());

    /// <summary>
    /// The records of a split read as a member of consumer group <paramref name="group"/>: members with the same
    /// group (trainer nodes) share the split's partitions and together read every record exactly once per
    /// epoch, each epoch bounded by the end offsets <paramref name="split"/> promises; progress is committed,
    /// so a member that restarts goes on where the group stands. See <see cref="GroupEpochReader"/>.
    /// </summary>
    /// <param name="epochs">Number of passes of the whole group; null = until the stream is cancelled.</param>
    /// <param name="ledger">
    /// A training feed's ledger: the group is rewound to its start first, the records it lists as done are skipped, and
    /// it hears of every record emitted and of when the member has left.
    /// </param>
    /// <param name="part">Only the records of this part of the split (as <see cref="Create"/>'s).</param>
    /// <returns>The records; materializes a task that completes when this member has committed what the stream pulled and left the group.</returns>
    public static Source<ImageRecord, Task> CreateInGroup(KafkaEndpoint endpoint, SplitManifest split, string group, int? epochs = 1,
        Func<int[], bool>? accept = null, int buffer = 1024, GroupLedger.Feed? ledger = null, SplitPart? part = null)
    {
        var records = Source.FromGraph(new GroupRecordSource(() => GroupEpochReader.Start(endpoint, split, group, epochs, accept, buffer, ledger, part)));
        return ledger is null ? records : records
            .MapMaterializedValue(left =>
            {
                ledger.Leaving(left);
                return left;
            })
            .Select(r =>
            {
                ledger.Emitted(r); // fused with the source: what it pushed is what was committed
                return r;
            });
    }
}
