namespace BitActors.Streams.Kafka;

/// <summary>
/// Ordered mode's interleaving of partitions: they take turns in a fixed order, one record each, so an epoch's
/// order depends on the data and the seed, never on which partition the broker delivered first. A record that
/// arrives before its turn waits in its partition's queue; a queue holds at most <c>limit</c> records: when it is
/// full the reader pauses that partition (<see cref="Add"/> says so), and resumes it when it has drained to half
/// (<see cref="Resumable"/>). The partition whose turn it is, when it holds the others back, has an empty queue,
/// so it is never paused then and its records keep coming: bounded memory without deadlock.
/// </summary>
/// <typeparam name="T">A record; null stands for one filtered out, which still takes its turn.</typeparam>
public sealed class PartitionRotation<T> where T : class
{
    private readonly List<int> turns;
    private readonly Dictionary<int, Queue<T?>> waiting;
    private readonly HashSet<int> complete = [];
    private readonly HashSet<int> paused = [];
    private readonly int limit;
    private int turn;

    /// <param name="order">The partitions with records this epoch, in turn order.</param>
    /// <param name="limit">Records a partition's queue holds before it should be paused.</param>
    public PartitionRotation(IEnumerable<int> order, int limit)
    {
        turns = order.ToList();
        waiting = turns.ToDictionary(p => p, _ => new Queue<T?>());
        this.limit = Math.Max(1, limit);
    }

    /// <summary>Records waiting in the queues now, and the most there ever were.</summary>
    public int Queued { get; private set; }

    public int MaxQueued { get; private set; }

    /// <summary>Every partition has delivered its last record and every record has been taken.</summary>
    public bool Finished => turns.Count == 0;

    /// <summary>
    /// The turn order of an epoch: the partitions permuted with a seed that changes each epoch (the same seed and
    /// epoch give the same order, run after run), so no partition always leads.
    /// </summary>
    public static IReadOnlyList<int> Order(IEnumerable<int> partitions, int seed, int epoch)
    {
        var order = partitions.Order().ToArray();
        new Random(unchecked(seed * 1_000_003 + epoch * 7_919 + 17)).Shuffle(order);
        return order;
    }

    /// <summary>An arrived record of <paramref name="partition"/> (<paramref name="last"/>: its epoch's last); true when the partition is now to be paused.</summary>
    public bool Add(int partition, T? record, bool last)
    {
        var queue = waiting[partition];
        queue.Enqueue(record);
        MaxQueued = Math.Max(MaxQueued, ++Queued);
        if (last) complete.Add(partition);
        return !last && queue.Count >= limit && paused.Add(partition);
    }

    /// <summary>The next record in turn; false while the partition whose turn it is has not delivered it yet (or when finished).</summary>
    public bool TryTake(out T? record)
    {
        while (turns.Count > 0)
        {
            int p = turns[turn];
            if (waiting[p].TryDequeue(out record))
            {
                Queued--;
                turn = (turn + 1) % turns.Count;
                return true;
            }
            if (!complete.Contains(p)) break;
            turns.RemoveAt(turn); // done: the next partition takes its place in the rotation
            if (turn >= turns.Count) turn = 0;
        }
        record = null;
        return false;
    }

    /// <summary>Paused partitions whose queue has drained to half: the reader resumes them (they count as resumed from now on).</summary>
    public IReadOnlyList<int> Resumable()
    {
        if (paused.Count == 0) return [];
        var drained = paused.Where(p => waiting[p].Count <= limit / 2).ToList();
        paused.ExceptWith(drained);
        return drained;
    }
}
