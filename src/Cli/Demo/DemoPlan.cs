using BitActors.Actors;
using BitActors.Streams.Pipelines;

namespace BitActors.Cli.Demo;

/// <summary>
/// The demo's downstream tasks: for every shot count (k examples per class, or all of them) one task per
/// seed from the backbone and the same from scratch, grouped so the report gives the median over seeds.
/// </summary>
public static class DemoPlan
{
    /// <summary>Group name of a shot count: <c>transfer-10shot</c>, <c>scratch-all</c>.</summary>
    public static string GroupName(int? shots, bool fromScratch) => $"{(fromScratch ? "scratch" : "transfer")}-{(shots is int k ? $"{k}shot" : "all")}";

    /// <summary>
    /// Parses shot counts: positive numbers, or <c>all</c> (null) for every example. Accepts "1,5,10,all" or
    /// the items of a HOCON list.
    /// </summary>
    public static IReadOnlyList<int?> ParseShots(IEnumerable<string> items)
    {
        var shots = new List<int?>();
        foreach (var raw in items.SelectMany(i => i.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            if (raw.Equals("all", StringComparison.OrdinalIgnoreCase)) shots.Add(null);
            else if (int.TryParse(raw, out var k) && k > 0) shots.Add(k);
            else throw new InvalidDataException($"shots: '{raw}' is neither a positive number nor 'all'");
        }
        if (shots.Count == 0) throw new InvalidDataException("shots: at least one shot count (or 'all') is needed");
        return shots.Distinct().ToList();
    }

    public static IReadOnlyList<int> ParseSeeds(IEnumerable<string> items)
    {
        var seeds = items.SelectMany(i => i.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Select(t => int.TryParse(t, out var v) ? v : throw new InvalidDataException($"seeds: '{t}' is not a number")).Distinct().ToList();
        return seeds.Count > 0 ? seeds : throw new InvalidDataException("at least one seed is needed");
    }

    /// <summary>
    /// Tasks in the order they run: by shot count, transfer then scratch, every seed of a group. The
    /// all-examples group uses <paramref name="allExamplesSeeds"/> (its draw is the whole set; a seed there
    /// only changes initialisation and data order, and each of its runs costs as much as many few-shot ones).
    /// </summary>
    public static IReadOnlyList<FineTuneTask> Tasks(string dataset, ClassSubset classes, IReadOnlyList<int?> shots, IReadOnlyList<int> seeds,
        IReadOnlyList<int> allExamplesSeeds) =>
        shots.SelectMany(k => new[] { false, true }.SelectMany(scratch =>
        {
            var groupSeeds = k is null ? allExamplesSeeds : seeds;
            return groupSeeds.Select(s => new FineTuneTask($"{GroupName(k, scratch)}-seed{s}", dataset, classes, k, s, scratch, GroupName(k, scratch)));
        })).ToList();
}
