using BitActors.Streams.Datasets;
using BitActors.Streams.Pipelines;

namespace BitActors.Streams.Kafka;

/// <summary>
/// What a training run reading its split in a consumer group has trained, so that each checkpoint can record where
/// the group must read from for a run resumed from it to train every record exactly once per epoch. The reader commits
/// what the stream pulled; records pulled but not yet trained (in the decoders, the shuffle buffer, a batch) and
/// records trained after the checkpoint are what a restart from that checkpoint must read again. Each feed (the first,
/// and one per trainer restart) has a <see cref="Feed"/> that hears of the records it emits and refuses; the driver
/// says which batch goes to the trainer (<see cref="Trained"/>, before any later checkpoint is asked for) and asks
/// for the position at a checkpoint (<see cref="PositionAt"/>), a <see cref="GroupPosition"/> as JSON. A new feed
/// from step S waits for the previous reader to leave, then rewinds the group to the position recorded at S.
/// Thread-safe: feeds, decoders and the driver call it from their own threads.
/// </summary>
public sealed class GroupLedger
{
    /// <summary>How many recorded positions are kept (a restart resumes from the newest confirmed checkpoint).</summary>
    private const int Kept = 16;

    private readonly object _gate = new();
    private readonly SortedDictionary<int, GroupPosition?> _positions = new();
    private Feed? _current;

    /// <summary>The position recorded in the checkpoint a run resumes from at <paramref name="step"/> (null: none; the group's standing).</summary>
    public void Resume(int step, string? position)
    {
        lock (_gate) _positions[step] = GroupPosition.FromJson(position);
    }

    /// <summary>The ledger of a new feed from <paramref name="step"/>: it reads from the position recorded there (or, none, where the group stands).</summary>
    public Feed StartFeed(int step)
    {
        lock (_gate)
        {
            foreach (var old in _positions.Keys.Where(s => s < step).ToList()) _positions.Remove(old);
            return _current = new Feed(this, step, _positions.GetValueOrDefault(step), _current);
        }
    }

    /// <summary>A batch goes to the trainer: a checkpoint asked for after this holds its records.</summary>
    public void Trained(ImageBatch batch)
    {
        Feed? feed;
        lock (_gate) feed = _current;
        if (batch.Records is { } records) feed?.Trained(records);
    }

    /// <summary>The position a checkpoint before <paramref name="step"/> records (JSON; null while nothing was read), remembered for a restart from it.</summary>
    public string? PositionAt(int step)
    {
        Feed? feed;
        lock (_gate) feed = _current;
        var position = feed?.Position();
        Remember(step, position, replace: true);
        return position?.ToJson();
    }

    private void Remember(int step, GroupPosition? position, bool replace)
    {
        lock (_gate)
        {
            if (!replace && _positions.GetValueOrDefault(step) is not null) return;
            _positions[step] = position;
            while (_positions.Count > Kept) _positions.Remove(_positions.Keys.First());
        }
    }

    /// <summary>The records one feed emitted, and which of them are done (trained or refused).</summary>
    public sealed class Feed
    {
        private static readonly TimeSpan LeaveTimeout = TimeSpan.FromSeconds(60);

        /// <summary>One partition in one epoch: the records emitted and not yet done, those done beyond the lowest of them.</summary>
        private sealed class Part(long from)
        {
            public long Next = from;
            public readonly SortedSet<long> Outstanding = [];
            public readonly HashSet<long> Done = [];
        }

        private readonly object _gate = new();
        private readonly GroupLedger _ledger;
        private readonly int _step;
        private Feed? _previous; // until its reader has left: a chain of feeds is not kept alive
        private readonly Dictionary<(int Epoch, int Partition), Part> _parts = [];
        private GroupPosition? _start;
        private int _epoch = -1;
        private Task? _left;

        internal Feed(GroupLedger ledger, int step, GroupPosition? start, Feed? previous)
        {
            (_ledger, _step, _previous) = (ledger, step, previous);
            if (start is not null) Seed(start);
        }

        /// <summary>The feed's reader has left its group once this completes (it committed what it pulled).</summary>
        public void Leaving(Task left)
        {
            lock (_gate) _left = left;
        }

        /// <summary>
        /// On the reader's thread, before it joins: waits for the previous feed's reader to leave, then rewinds the group
        /// to this feed's start (none given: takes the group's standing as it); returns the offsets to skip.
        /// </summary>
        internal Dictionary<(int Epoch, int Partition), HashSet<long>> Prepare(KafkaEndpoint endpoint, SplitManifest split, string group)
        {
            if (_previous?.LeftTask() is { } left && !left.Wait(LeaveTimeout))
                throw new TimeoutException($"the previous reader of group '{group}' did not leave within {LeaveTimeout.TotalSeconds:F0} s: its commits could overwrite the rewind");
            _previous = null;
            GroupPosition? start;
            lock (_gate) start = _start;
            if (start is null)
            {
                start = GroupPosition.Standing(endpoint, split, group);
                _ledger.Remember(_step, start, replace: false);
                Seed(start);
            }
            else start.Rewind(endpoint, split, group);
            return start.Skips();
        }

        /// <summary>Where the feed starts: what is done there is the ledger's first state (so a position asked for at once is that start).</summary>
        private void Seed(GroupPosition start)
        {
            lock (_gate)
            {
                _start = start;
                foreach (var (e, partitions) in start.Epochs)
                    foreach (var (p, at) in partitions)
                    {
                        var part = _parts[(e, p)] = new Part(at.From);
                        part.Done.UnionWith(at.Skip);
                    }
            }
        }

        private Task? LeftTask()
        {
            lock (_gate) return _left;
        }

        /// <summary>A record went downstream (the reader committed past it).</summary>
        public void Emitted(ImageRecord record)
        {
            lock (_gate)
            {
                if (!_parts.TryGetValue((record.Epoch, record.Partition), out var part)) _parts[(record.Epoch, record.Partition)] = part = new Part(record.Offset);
                part.Outstanding.Add(record.Offset);
                part.Next = Math.Max(part.Next, record.Offset + 1);
                if (record.Epoch > _epoch) Advance(record.Epoch);
            }
        }

        /// <summary>A record the pipeline refused: done, it is never trained on.</summary>
        public void Refused(ImageRecord record) => Trained([new RecordId(record.Epoch, record.Partition, record.Offset)]);

        internal void Trained(IEnumerable<RecordId> records)
        {
            lock (_gate)
            {
                var touched = new HashSet<Part>();
                foreach (var r in records)
                    if (_parts.TryGetValue((r.Epoch, r.Partition), out var part) && part.Outstanding.Remove(r.Offset))
                    {
                        part.Done.Add(r.Offset);
                        touched.Add(part);
                    }
                // Below the lowest record outstanding everything is done: only the done records above it are remembered.
                foreach (var part in touched)
                {
                    long floor = part.Outstanding.Count > 0 ? part.Outstanding.Min : part.Next;
                    part.Done.RemoveWhere(d => d < floor);
                }
            }
        }

        /// <summary>A record of a later epoch came: the group passed the barrier, so earlier epochs with nothing outstanding are done.</summary>
        private void Advance(int epoch)
        {
            _epoch = epoch;
            DropFinishedEpochs();
        }

        private void DropFinishedEpochs()
        {
            foreach (var key in _parts.Keys.Where(k => k.Epoch < _epoch).Select(k => k.Epoch).Distinct().ToList())
                if (_parts.Where(kv => kv.Key.Epoch == key).All(kv => kv.Value.Outstanding.Count == 0))
                    foreach (var k in _parts.Keys.Where(k => k.Epoch == key).ToList()) _parts.Remove(k);
        }

        /// <summary>Where a restart must read from now: each partition at its lowest record not done, the done ones beyond skipped.</summary>
        internal GroupPosition? Position()
        {
            lock (_gate)
            {
                if (_start is null) return null;
                DropFinishedEpochs();
                var epochs = new Dictionary<int, Dictionary<int, PartitionPosition>>();
                foreach (var ((e, p), part) in _parts)
                {
                    long from = part.Outstanding.Count > 0 ? part.Outstanding.Min : part.Next;
                    var skip = part.Done.Where(d => d >= from).Order().ToArray();
                    (epochs.TryGetValue(e, out var partitions) ? partitions : epochs[e] = [])[p] = new PartitionPosition(from, skip);
                }
                return new GroupPosition(epochs.Count > 0 ? epochs.Keys.Min() : _start.Epoch, epochs);
            }
        }
    }
}
