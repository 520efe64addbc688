using BitActors.Streams.Pipelines;

namespace BitActors.Actors.FineTuning;

/// <summary>
/// The fine-tune tasks of a run, as <c>run</c>, <c>demo</c> and cluster jobs plan them: by shot count (examples per
/// class; null is every example), the tasks from the backbone, then with <see cref="Scratch"/> the same from scratch,
/// one task per seed. A group (<c>transfer-5shot</c>, <c>scratch-all</c>) names its tasks <c>{group}-seed{s}</c>, or
/// just <c>{group}</c> when it has one seed, unless <see cref="SeedInEveryName"/>.
/// </summary>
public sealed record TaskPlan(string Dataset, ClassSubset Classes, IReadOnlyList<int?> Shots, IReadOnlyList<int> Seeds)
{
    /// <summary>Every task also from scratch, for comparison.</summary>
    public bool Scratch { get; init; }

    /// <summary>
    /// Seeds of the all-examples groups (default: <see cref="Seeds"/>). The demo uses fewer there: the draw is the
    /// whole set, a seed only changes initialisation and data order, and each run costs as much as many few-shot ones.
    /// </summary>
    public IReadOnlyList<int>? AllExamplesSeeds { get; init; }

    /// <summary>Put before every group's name (<c>pets-transfer-5shot</c>): the dataset, when a run has several.</summary>
    public string? NamePrefix { get; init; }

    /// <summary>The step cap of these tasks (null: <c>bitactors.finetune.max-steps</c>; 0: the HyperRule's steps).</summary>
    public int? MaxSteps { get; init; }

    /// <summary>
    /// The VTAB-1k protocol instead of shot counts: one group per arm (<c>transfer-vtab1k</c>), each task drawing 1,000
    /// examples with its seed (800 to train, 200 to validate on).
    /// </summary>
    public bool Vtab1k { get; init; }

    /// <summary><c>-seed{s}</c> in every task's name, also in a group of one seed (the demo's names).</summary>
    public bool SeedInEveryName { get; init; }

    /// <summary>Group name of a shot count: <c>transfer-10shot</c>, <c>scratch-all</c>.</summary>
    public static string GroupName(int? shots, bool fromScratch) => $"{(fromScratch ? "scratch" : "transfer")}-{(shots is int k ? $"{k}shot" : "all")}";

    /// <summary>The tasks in the order they run: by shot count, transfer then scratch, every seed of a group.</summary>
    public IReadOnlyList<FineTuneTask> Tasks() =>
        (Vtab1k ? [null] : Shots).SelectMany(k => (Scratch ? new[] { false, true } : [false]).SelectMany(fromScratch => Group(k, fromScratch))).ToList();

    private IEnumerable<FineTuneTask> Group(int? shots, bool fromScratch)
    {
        var group = Vtab1k ? $"{(fromScratch ? "scratch" : "transfer")}-vtab1k" : GroupName(shots, fromScratch);
        var name = NamePrefix is null ? group : $"{NamePrefix}-{group}";
        var seeds = shots is null ? AllExamplesSeeds ?? Seeds : Seeds;
        var tasks = SeedInEveryName
            ? seeds.Select(s => new FineTuneTask($"{name}-seed{s}", Dataset, Classes, shots, s, fromScratch, name))
            : FineTuneTask.ForSeeds(name, Dataset, Classes, shots, seeds, fromScratch);
        return MaxSteps is null && !Vtab1k ? tasks : tasks.Select(t => t with { MaxSteps = MaxSteps, Vtab1k = Vtab1k });
    }

    /// <summary>
    /// Shot counts: positive numbers, or <c>all</c> or <c>0</c> (null) for every example; "1,5,10,all" or the items of
    /// a HOCON list. <paramref name="what"/> names the option or key in errors. A count given twice (<c>5,5</c>, <c>0,all</c>)
    /// is one group of tasks (two would share their names): collapsed, and <paramref name="warn"/> told.
    /// </summary>
    public static IReadOnlyList<int?> ParseShots(IEnumerable<string> items, string what = "shots", Action<string>? warn = null)
    {
        int? Shot(string raw) =>
            raw.Equals("all", StringComparison.OrdinalIgnoreCase) ? null
            : int.TryParse(raw, out var k) && k >= 0 ? (k == 0 ? null : k)
            : throw new InvalidDataException($"{what}: '{raw}' is neither a number of examples per class nor 'all' (or 0)");
        var shots = Collapse(Items(items).Select(Shot).ToList(), what, k => k?.ToString() ?? "all", warn);
        return shots.Count > 0 ? shots : throw new InvalidDataException($"{what}: at least one shot count (or 'all') is needed");
    }

    /// <summary>Seeds: numbers, "0,1,2" or the items of a HOCON list; one given twice is collapsed, <paramref name="warn"/> told.</summary>
    public static IReadOnlyList<int> ParseSeeds(IEnumerable<string> items, string what = "seeds", Action<string>? warn = null)
    {
        var seeds = Collapse(Items(items).Select(t => int.TryParse(t, out var v) ? v : throw new InvalidDataException($"{what}: '{t}' is not a number")).ToList(),
            what, s => s.ToString(), warn);
        return seeds.Count > 0 ? seeds : throw new InvalidDataException($"{what}: at least one seed is needed");
    }

    /// <summary>Each value once, in the order first given; the ones given more than once named to <paramref name="warn"/>.</summary>
    public static List<T> Collapse<T>(IReadOnlyList<T> values, string what, Func<T, string> show, Action<string>? warn)
    {
        var distinct = values.Distinct().ToList();
        if (distinct.Count < values.Count)
        {
            var twice = values.GroupBy(v => v).Where(g => g.Count() > 1).Select(g => show(g.Key));
            warn?.Invoke($"{what}: {string.Join(", ", twice)} given more than once; each is used once ({string.Join(",", distinct.Select(show))})");
        }
        return distinct;
    }

    private static IEnumerable<string> Items(IEnumerable<string> items) =>
        items.SelectMany(i => i.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
