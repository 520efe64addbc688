using System.Threading.Channels;
using BitActors.Streams.Datasets;
using BitActors.Streams.Telemetry;
using Confluent.Kafka;

namespace BitActors.Streams.Kafka;

/// <summary>
/// Reads a split's records as a member of a consumer group: the members (several trainer nodes) share the
/// partitions, and together read every record of the split exactly once per epoch, epoch after epoch.
/// <para>
/// Epoch e of partition p is the offsets [start, end) the manifest promises. Progress through epoch e is
/// committed as ordinary offsets under the group <c>GROUP.epoch-e</c>, so a partition's state never needs
/// decoding: committed == end means p is done with epoch e. The members join <c>GROUP</c> itself only for
/// the partition assignment. Epoch e + 1 starts on any partition only when every partition has committed
/// the end of epoch e (a barrier read from the commits), so an epoch is a real pass over the data. A member
/// that joins late, restarts, or receives a partition in a rebalance finds its epoch and positions in those
/// commits and goes on from there.
/// </para>
/// <para>
/// Exactly once: a record counts as taken when the stream has pulled it, not when the consumer fetched it.
/// Commits carry the position of the last record pulled, every <see cref="CommitEvery"/> records or
/// <see cref="CommitInterval"/>, at the end of each partition's epoch, when partitions are revoked and when
/// the stream stops; records of a revoked partition still in the buffer are dropped, not emitted (their new
/// owner reads them from the commit). So joins, leaves, rebalances and stopped-and-restarted members neither
/// skip nor repeat a record. A member that dies without a clean stop (killed process, session timeout)
/// leaves the records pulled since its last commit to be read again by the next owner: at-least-once there.
/// A training feed's <see cref="GroupLedger.Feed"/> first rewinds the group to where its checkpoint stood; the records
/// it lists as done beyond that point are skipped like filtered ones.
/// </para>
/// <para>
/// The consumer has one owner, a dedicated thread. Backpressure: when the stream stops pulling and the
/// buffer fills, the thread pauses its partitions and keeps calling <c>Consume</c> (a consumer that stops
/// polling leaves its group after max.poll.interval.ms), resuming when the buffer has drained to half.
/// </para>
/// </summary>
internal sealed class GroupEpochReader
{
    public static readonly TimeSpan CommitInterval = TimeSpan.FromSeconds(2);
    public const int CommitEvery = 1000;
    private const int PauseAfter = 64;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>A fetched record (or a filtered-out one: null, it still advances the position) of a partition's assignment generation.</summary>
    private sealed record Item(int Partition, long Offset, int Generation, ImageRecord? Record);

    private readonly KafkaEndpoint endpoint;
    private readonly string group;
    private readonly SplitManifest split;
    private readonly int? epochs;
    private readonly Func<int[], bool>? accept;
    private readonly SplitPart? part;
    private readonly GroupLedger.Feed? ledger;
    private readonly int buffer;
    private readonly Channel<Item> channel;
    private readonly CancellationTokenSource stop = new();
    private readonly Thread thread;
    private readonly TaskCompletionSource left = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Shared with the stream's reads, under `gate`: which assignment of a partition is current, and the
    // next offset after the last record the stream pulled.
    private readonly object gate = new();
    private readonly int[] generation;
    private readonly long[] pulled;

    // The consumer thread's own state.
    private readonly HashSet<int> owned = [];
    private readonly long[] next, committed;
    private readonly bool?[] pausedState;
    private readonly Queue<Item> pending = new();
    private readonly Dictionary<int, IConsumer<string, byte[]>> progress = [];
    private Dictionary<(int Epoch, int Partition), HashSet<long>> done = [];
    private int epoch;
    private bool backpressure;
    private DateTime lastCommit = DateTime.UtcNow;

    private GroupEpochReader(KafkaEndpoint endpoint, SplitManifest split, string group, int? epochs, Func<int[], bool>? accept, int buffer, GroupLedger.Feed? ledger, SplitPart? part)
    {
        if (string.IsNullOrWhiteSpace(group)) throw new ArgumentException("a consumer group id is required", nameof(group));
        (this.endpoint, this.split, this.group, this.epochs, this.accept, this.buffer, this.ledger, this.part) = (endpoint, split, group, epochs, accept, Math.Max(2, buffer), ledger, part);
        int n = split.Partitions;
        (generation, pulled, next, committed, pausedState) = (new int[n], new long[n], new long[n], new long[n], new bool?[n]);
        channel = Channel.CreateBounded<Item>(new BoundedChannelOptions(this.buffer) { SingleReader = true, SingleWriter = true });
        thread = new Thread(Run) { IsBackground = true, Name = $"kafka-group-reader:{split.Topic}" };
    }

    /// <summary>Completes when the member has committed what the stream pulled and left the group (or failed).</summary>
    public Task Left => left.Task;

    public static GroupEpochReader Start(KafkaEndpoint endpoint, SplitManifest split, string group, int? epochs, Func<int[], bool>? accept, int buffer,
        GroupLedger.Feed? ledger = null, SplitPart? part = null)
    {
        var reader = new GroupEpochReader(endpoint, split, group, epochs, accept, buffer, ledger, part);
        reader.thread.Start();
        return reader;
    }

    /// <summary>The group under which progress through <paramref name="epoch"/> is committed.</summary>
    public static string ProgressGroup(string group, int epoch) => $"{group}.epoch-{epoch}";

    /// <summary>
    /// The next buffered record, if one is there; the caller hands it on at once (it counts as taken). Records of
    /// revoked partitions are skipped, filtered-out ones only move the position.
    /// </summary>
    public bool TryTake(out ImageRecord? record)
    {
        while (channel.Reader.TryRead(out var item))
        {
            lock (gate)
            {
                if (item.Generation != generation[item.Partition]) continue; // revoked while buffered: its new owner reads it
                pulled[item.Partition] = item.Offset + 1;
            }
            if (item.Record is not null)
            {
                record = item.Record;
                return true;
            }
        }
        record = null;
        return false;
    }

    /// <summary>True when records may be there, false when the reader has finished; faults when it failed.</summary>
    public Task<bool> WaitAsync() => channel.Reader.WaitToReadAsync().AsTask();

    /// <summary>Stops reading: the thread commits what was taken, leaves the group and completes <see cref="Left"/>.</summary>
    public void Stop() => stop.Cancel();

    private void Run()
    {
        IConsumer<string, byte[]>? consumer = null;
        try
        {
            CheckTopicHoldsTheManifestsRecords();
            if (ledger is not null) done = ledger.Prepare(endpoint, split, group);
            epoch = 0;
            while ((epochs is null || epoch < epochs) && EpochDone(epoch)) epoch++;
            var config = KafkaClients.Consumer(endpoint, group);
            // The thread polls at least every 100 ms, so a member that stops heartbeating for 10 s is gone:
            // its partitions move on sooner than after the default 45 s.
            (config.SessionTimeoutMs, config.HeartbeatIntervalMs) = (10_000, 1_000);
            consumer = new ConsumerBuilder<string, byte[]>(config)
                .SetPartitionsAssignedHandler(OnAssigned)
                .SetPartitionsRevokedHandler((_, revoked) => OnRevoked(revoked, commit: true))
                .SetPartitionsLostHandler((_, lost) => OnRevoked(lost, commit: false))
                .Build();
            consumer.Subscribe(split.Topic);
            while (!stop.IsCancellationRequested && (epochs is null || epoch < epochs))
            {
                Drain();
                SyncPauses(consumer);
                if (pending.Count > 0) WaitForRoom(TimeSpan.FromMilliseconds(100));
                var result = consumer.Consume(pending.Count > 0 ? TimeSpan.Zero : backpressure ? TimeSpan.FromMilliseconds(10) : TimeSpan.FromMilliseconds(100));
                if (result?.Message is not null) Take(consumer, result);
                if (DateTime.UtcNow - lastCommit > CommitInterval || Uncommitted() >= CommitEvery) Commit();
                if (owned.All(p => next[p] >= split.EndOffset(p)) && AllPulled())
                {
                    Commit();
                    if (EpochDone(epoch)) StartNextEpoch(consumer);
                }
            }
            Commit();
            consumer.Close(); // revokes (and commits) what it owns
            channel.Writer.TryComplete();
        }
        catch (OperationCanceledException) { channel.Writer.TryComplete(); }
        catch (Exception e) { channel.Writer.TryComplete(e); }
        finally
        {
            consumer?.Dispose();
            foreach (var c in progress.Values) c.Dispose();
            left.TrySetResult();
        }
    }

    private void CheckTopicHoldsTheManifestsRecords() =>
        SplitOffsets.Verify(split, DatasetCatalog.Watermarks(endpoint, split.Topic, split.Partitions));

    /// <summary>Whether every partition has committed the end of <paramref name="e"/> (partitions without records are always done).</summary>
    private bool EpochDone(int e)
    {
        var positions = Progress(e).Committed(Enumerable.Range(0, split.Partitions).Select(p => new TopicPartition(split.Topic, p)), Timeout);
        return Enumerable.Range(0, split.Partitions).All(p => split.EndOffset(p) == split.StartOffset(p)
            || positions.FirstOrDefault(c => c.Partition.Value == p) is { } c && c.Offset.Value >= split.EndOffset(p));
    }

    private IConsumer<string, byte[]> Progress(int e)
    {
        if (!progress.TryGetValue(e, out var consumer))
        {
            foreach (var old in progress.Keys.Where(k => k < e - 1).ToList())
            {
                progress[old].Dispose();
                progress.Remove(old);
            }
            progress[e] = consumer = KafkaClients.CreateConsumer(endpoint, ProgressGroup(group, e));
        }
        return consumer;
    }

    /// <summary>Where partition <paramref name="p"/> stands in the current epoch: its commit, or its start.</summary>
    private long Position(int p)
    {
        var c = Progress(epoch).Committed([new TopicPartition(split.Topic, p)], Timeout).Single().Offset;
        return c == Offset.Unset ? split.StartOffset(p) : Math.Clamp(c.Value, split.StartOffset(p), split.EndOffset(p));
    }

    private IEnumerable<TopicPartitionOffset> OnAssigned(IConsumer<string, byte[]> consumer, List<TopicPartition> partitions)
    {
        var offsets = new List<TopicPartitionOffset>();
        foreach (var tp in partitions)
        {
            int p = tp.Partition.Value;
            if (p >= split.Partitions) continue; // added after the manifest was written: not part of the split
            var position = Position(p);
            lock (gate)
            {
                generation[p]++;
                pulled[p] = position;
            }
            (next[p], committed[p], pausedState[p]) = (position, position, null);
            owned.Add(p);
            offsets.Add(new TopicPartitionOffset(tp, position));
        }
        return offsets;
    }

    /// <summary>
    /// Revoked (or lost) partitions: from now on the stream gets none of their buffered records, and what it
    /// pulled of them is committed (not when lost: another member may already own them) before the new owner looks.
    /// </summary>
    private void OnRevoked(List<TopicPartitionOffset> partitions, bool commit)
    {
        var revoked = partitions.Select(tp => tp.Partition.Value).Where(owned.Contains).ToList();
        List<TopicPartitionOffset> offsets;
        lock (gate)
        {
            foreach (var p in revoked) generation[p]++;
            offsets = Moved(revoked);
        }
        if (commit && offsets.Count > 0) Progress(epoch).Commit(offsets);
        foreach (var p in revoked) owned.Remove(p);
    }

    private void Take(IConsumer<string, byte[]> consumer, ConsumeResult<string, byte[]> result)
    {
        int p = result.Partition.Value;
        long offset = result.Offset.Value;
        if (!owned.Contains(p) || offset < next[p]) return;
        if (offset >= split.EndOffset(p))
        {
            next[p] = split.EndOffset(p); // records appended after the manifest are not part of the split
            return;
        }
        // Never throws: a defective record goes downstream (whatever the filter) to be dead-lettered, and is committed past like any other.
        ImageRecord? record = done.TryGetValue((epoch, p), out var skip) && skip.Contains(offset) ? null : RecordParser.Parse(result, epoch);
        if (record is { Defect: null } && (accept is not null && !accept(record.Labels) || part is not null && !part.Contains(record.Index))) record = null;
        pending.Enqueue(new Item(p, offset, generation[p], record));
        next[p] = offset + 1;
        BitMetrics.Lag(split.Topic, owned.Sum(q => split.EndOffset(q) - next[q]));
        Drain();
    }

    /// <summary>
    /// Moves fetched records into the buffer. While it is full they wait here; when <see cref="PauseAfter"/> have
    /// piled up (the stream has stopped pulling for a while) the partitions are paused until the buffer has
    /// drained to half. Pausing is not done at once: a resumed partition takes a new fetch (a few hundred ms).
    /// </summary>
    private void Drain()
    {
        while (pending.TryPeek(out var item) && channel.Writer.TryWrite(item)) pending.Dequeue();
        if (pending.Count >= PauseAfter) backpressure = true;
        else if (backpressure && pending.Count == 0 && channel.Reader.Count <= buffer / 2) backpressure = false;
    }

    private void WaitForRoom(TimeSpan timeout)
    {
        using var timer = new CancellationTokenSource(timeout);
        try { channel.Writer.WaitToWriteAsync(timer.Token).AsTask().GetAwaiter().GetResult(); }
        catch (OperationCanceledException) { }
    }

    private void SyncPauses(IConsumer<string, byte[]> consumer)
    {
        foreach (var p in owned)
        {
            bool pause = backpressure || next[p] >= split.EndOffset(p);
            if (pausedState[p] == pause) continue;
            var tp = new TopicPartition(split.Topic, p);
            if (pause) consumer.Pause([tp]);
            else consumer.Resume([tp]); // also clears a pause flag librdkafka kept from an earlier assignment
            pausedState[p] = pause;
        }
    }

    private bool AllPulled()
    {
        lock (gate) return owned.All(p => pulled[p] >= next[p]);
    }

    /// <summary>Commits the position of the last record the stream pulled, for every partition owned that moved.</summary>
    private void Commit()
    {
        List<TopicPartitionOffset> offsets;
        lock (gate) offsets = Moved(owned);
        lastCommit = DateTime.UtcNow;
        if (offsets.Count > 0) Progress(epoch).Commit(offsets);
    }

    /// <summary>The pulled positions not yet committed, marked as committed (call under <c>gate</c>).</summary>
    private List<TopicPartitionOffset> Moved(IEnumerable<int> partitions)
    {
        var offsets = new List<TopicPartitionOffset>();
        foreach (var p in partitions)
            if (pulled[p] > committed[p])
            {
                offsets.Add(new TopicPartitionOffset(split.Topic, p, pulled[p]));
                committed[p] = pulled[p];
            }
        return offsets;
    }

    private long Uncommitted()
    {
        lock (gate) return owned.Sum(p => pulled[p] - committed[p]);
    }

    /// <summary>Every partition has finished the epoch: the owned ones start the next, from its commits (another member may have begun them).</summary>
    private void StartNextEpoch(IConsumer<string, byte[]> consumer)
    {
        epoch++;
        if (epochs is not null && epoch >= epochs) return;
        foreach (var p in owned)
        {
            var position = Position(p);
            lock (gate) pulled[p] = position;
            (next[p], committed[p], pausedState[p]) = (position, position, null);
            consumer.Seek(new TopicPartitionOffset(split.Topic, p, position));
        }
    }
}
