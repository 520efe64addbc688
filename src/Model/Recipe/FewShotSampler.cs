namespace BitActors.Model.Recipe;

/// <summary>
/// Draws k examples per class with a seed (BiT section 4.1 few-shot transfer). The draw depends only on the
/// candidates' ids, labels and the seed, never on the order they arrived in.
/// </summary>
public static class FewShotSampler
{
    public static IReadOnlyList<T> Sample<T>(IEnumerable<T> candidates, Func<T, long> id, Func<T, int> label, int shotsPerClass, int seed)
    {
        if (shotsPerClass <= 0) throw new ArgumentOutOfRangeException(nameof(shotsPerClass), shotsPerClass, "shots must be positive");
        var random = new Random(seed);
        var chosen = new List<T>();
        foreach (var group in candidates.GroupBy(label).OrderBy(g => g.Key))
        {
            var pool = group.OrderBy(id).ToArray();
            if (pool.Length < shotsPerClass)
                throw new InvalidOperationException($"class {group.Key} has {pool.Length} examples, fewer than the {shotsPerClass} shots asked for");
            random.Shuffle(pool);
            chosen.AddRange(pool.Take(shotsPerClass));
        }
        return chosen;
    }
}
