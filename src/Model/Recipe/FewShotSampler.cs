namespace BitActors.Model.Recipe;

/// <summary>
/// Draws k examples per class with a seed (BiT section 4.1 few-shot transfer). The draw depends only on the
/// candidates' ids, labels and the seed, never on the order they arrived in.
/// </summary>
public static class FewShotSampler
{
    public static IReadOnlyList<T> Sample<T>(IEnumerable<T> candidates, Func<T, long> id, Func<T, int> label, int shotsPerClass, int seed)
    {
        var draw = new FewShotDraw<T>(shotsPerClass, seed, id, label);
        foreach (var candidate in candidates) draw.Offer(candidate);
        return draw.Result();
    }
}

/// <summary>
/// A few-shot draw in one streaming pass: each class keeps the k candidates with the smallest seeded hash of their
/// id. A hash of the id is a random ranking the seed fixes, so the k smallest are a uniform k-subset of the class,
/// the same whatever order the candidates come in; memory is k per class, whatever the dataset's size.
/// </summary>
public sealed class FewShotDraw<T>
{
    private readonly int shots;
    private readonly ulong salt;
    private readonly Func<T, long> id;
    private readonly Func<T, int> label;
    // Per class a max-heap of the k smallest (hash, id) so far: its top is the one a smaller newcomer replaces.
    private readonly Dictionary<int, PriorityQueue<T, (ulong Hash, long Id)>> kept = [];
    private static readonly IComparer<(ulong Hash, long Id)> Largest = Comparer<(ulong Hash, long Id)>.Create((a, b) => b.CompareTo(a));

    public FewShotDraw(int shotsPerClass, int seed, Func<T, long> id, Func<T, int> label)
    {
        if (shotsPerClass <= 0) throw new ArgumentOutOfRangeException(nameof(shotsPerClass), shotsPerClass, "shots must be positive");
        (shots, this.id, this.label) = (shotsPerClass, id, label);
        salt = Mix((ulong)(uint)seed ^ 0x5851F42D4C957F2DUL);
    }

    /// <summary>A candidate; kept when it ranks among its class's k smallest so far. An id offered again is counted once.</summary>
    public void Offer(T candidate)
    {
        long key = id(candidate);
        int c = label(candidate);
        if (!kept.TryGetValue(c, out var heap)) kept[c] = heap = new PriorityQueue<T, (ulong, long)>(shots + 1, Largest);
        var rank = (Mix(unchecked((ulong)key * 0x9E3779B97F4A7C15UL + salt)), key);
        if (heap.Count == shots && rank.CompareTo(Top(heap)) >= 0) return; // not among the k smallest
        if (heap.UnorderedItems.Any(x => x.Priority == rank)) return;      // the same id again (a duplicate record)
        if (heap.Count < shots) heap.Enqueue(candidate, rank);
        else heap.DequeueEnqueue(candidate, rank);
    }

    /// <summary>
    /// The drawn examples, class by class (<paramref name="classes"/>, or every class offered, in order), each class's
    /// by rank. A class with fewer than k candidates is refused by name.
    /// </summary>
    public IReadOnlyList<T> Result(IEnumerable<int>? classes = null)
    {
        var chosen = new List<T>();
        foreach (var c in (classes ?? kept.Keys).Order())
        {
            var items = kept.TryGetValue(c, out var heap) ? heap.UnorderedItems.OrderBy(x => x.Priority).Select(x => x.Element).ToList() : [];
            if (items.Count < shots)
                throw new InvalidOperationException($"class {c} has {items.Count} examples, fewer than the {shots} shots asked for");
            chosen.AddRange(items);
        }
        return chosen;
    }

    private static (ulong Hash, long Id) Top(PriorityQueue<T, (ulong Hash, long Id)> heap) => heap.TryPeek(out _, out var rank) ? rank : (ulong.MaxValue, long.MaxValue);

    /// <summary>SplitMix64's finaliser: a well-mixed 64-bit hash.</summary>
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
