using Akka.Configuration;
using Akka.Configuration.Hocon;
using BitActors.Actors.Training;
using BitActors.Streams.Datasets;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.FineTuning;

/// <summary>
/// One downstream dataset of a suite: its classes (null: every class), shot counts and seeds, and an optional step
/// cap for its tasks (null: <c>bitactors.finetune.max-steps</c>; 0: the HyperRule's own steps).
/// </summary>
public sealed record SuiteDataset(string Name, IReadOnlyList<int>? Classes, IReadOnlyList<int?> Shots, IReadOnlyList<int> Seeds, int? MaxSteps = null, bool Vtab1k = false);

/// <summary>
/// One backbone, many downstream datasets (BiT's and VTAB's transfer suite): the tasks of every dataset in one list,
/// each sized by the HyperRule on its own dataset when it runs, all fanned out together so a free trainer takes any.
/// With several datasets each task's name starts with its dataset (<c>pets-transfer-5shot-seed0</c>), so names stay
/// unique. Read from <c>run --dataset a,b,c</c>, from a suite file (<c>run --suite FILE</c>) or from a cluster job:
/// <code>suite { datasets = [ { name = pets, classes = [], shots = [1, 5], seeds = [0, 1, 2], max-steps = 0 } ] }</code>
/// A dataset with <c>protocol = vtab-1k</c> is trained as VTAB-1k instead of by shots (<see cref="BitActors.Model.Recipe.Vtab1k"/>).
/// </summary>
public sealed record TransferSuite(IReadOnlyList<SuiteDataset> Datasets)
{
    /// <summary>The keys a suite entry may have.</summary>
    public static readonly IReadOnlyList<string> EntryKeys = ["name", "classes", "shots", "seeds", "max-steps", "protocol"];

    /// <summary>The protocols a suite's dataset may name: shots × seeds (the default), or VTAB-1k.</summary>
    public static readonly IReadOnlyList<string> Protocols = ["shots", BitActors.Model.Recipe.Vtab1k.Name];

    /// <summary>Whether the run has several datasets (its task names then carry the dataset).</summary>
    public bool IsSeveral => Datasets.Count > 1;

    /// <summary>Comma-separated dataset names (<c>a,b,c</c>), each with every class and the same shots and seeds.</summary>
    public static TransferSuite OfNames(string names, IReadOnlyList<int?> shots, IReadOnlyList<int> seeds, string what = "--dataset", bool vtab1k = false)
    {
        var list = names.Split(',', StringSplitOptions.TrimEntries).ToList();
        if (list.Count == 0 || list.Any(n => n.Length == 0))
            throw new InvalidDataException($"{what}: '{names}' has an empty dataset name (give NAME or NAME,NAME,…)");
        return Checked(list.Select(n => new SuiteDataset(n, null, shots, seeds, Vtab1k: vtab1k)).ToList(), what);
    }

    /// <summary>A suite file: HOCON with a <c>suite</c> object (see the type's summary); entries without shots or seeds take the given ones.</summary>
    public static TransferSuite ReadFile(string path, IReadOnlyList<int?> shots, IReadOnlyList<int> seeds, bool vtab1k = false)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"--suite: file not found: {path}", path);
        Config config;
        try { config = ConfigurationFactory.ParseString(File.ReadAllText(path)); }
        catch (Exception e) when (e is not IOException) { throw new InvalidDataException($"--suite {path}: not HOCON: {e.Message}"); }
        return From(config, "suite", shots, seeds, $"--suite {path}: ", vtab1k);
    }

    /// <summary>
    /// The suite at <paramref name="key"/> of <paramref name="config"/>; null when it has no datasets there. Errors name the key
    /// (<c>suite.datasets[1].shots</c>), after <paramref name="origin"/>.
    /// </summary>
    /// <param name="vtab1k">The protocol of entries that name none: VTAB-1k (true) or shots × seeds.</param>
    public static TransferSuite? TryFrom(Config config, string key, IReadOnlyList<int?> shots, IReadOnlyList<int> seeds, string origin = "", bool vtab1k = false)
    {
        var datasetsKey = $"{key}.datasets";
        if (config.HasPath(key) && config.GetValue(key) is { } suite && suite.IsObject()
            && suite.GetObject().Items.Keys.FirstOrDefault(k => k != "datasets") is { } unknown)
            throw new InvalidDataException($"{origin}unknown key '{key}.{unknown}' (a suite has: datasets)");
        if (!config.HasPath(datasetsKey)) return null;
        var value = config.GetValue(datasetsKey);
        var notAList = new InvalidDataException($"{origin}{datasetsKey} must be a list of datasets: [ {{ name = NAME, shots = [1, 5] }} ]");
        if (value.IsString() && string.IsNullOrWhiteSpace(value.GetString())) return null; // datasets = [] (HOCON reads it as no value)
        if (value.IsString() || value.IsObject()) throw notAList;
        IList<HoconValue> items;
        try { items = value.GetArray(); }
        catch (Exception e) when (e is not InvalidDataException) { throw notAList; }
        if (items.Count == 0) return null;
        var datasets = items.Select((item, i) => Entry(item, $"{datasetsKey}[{i}]", shots, seeds, origin, vtab1k)).ToList();
        return Checked(datasets, $"{origin}{datasetsKey}");
    }

    /// <summary>As <see cref="TryFrom"/>, but a suite without datasets is refused.</summary>
    public static TransferSuite From(Config config, string key, IReadOnlyList<int?> shots, IReadOnlyList<int> seeds, string origin = "", bool vtab1k = false) =>
        TryFrom(config, key, shots, seeds, origin, vtab1k)
        ?? throw new InvalidDataException($"{origin}{key}.datasets is missing or empty: list the downstream datasets, e.g. {key} {{ datasets = [ {{ name = pets }} ] }}");

    private static SuiteDataset Entry(HoconValue item, string at, IReadOnlyList<int?> shots, IReadOnlyList<int> seeds, string origin, bool vtab1k)
    {
        if (!item.IsObject()) throw new InvalidDataException($"{origin}{at} must be an object: {{ name = NAME, shots = [1, 5], seeds = [0, 1] }}");
        var keys = item.GetObject().Items.Keys.ToList();
        if (keys.FirstOrDefault(k => !EntryKeys.Contains(k)) is { } unknown)
            throw new InvalidDataException($"{origin}unknown key '{at}.{unknown}' (a suite's dataset has: {string.Join(", ", EntryKeys)})");
        var c = new Config(new HoconRoot(item));
        var name = c.HasPath("name") ? c.GetString("name") : null;
        if (string.IsNullOrWhiteSpace(name)) throw new InvalidDataException($"{origin}{at}.name is missing: name the published dataset");
        IReadOnlyList<string> List(string key)
        {
            var v = c.GetValue(key);
            return v.IsArray() ? v.GetArray().Select(x => x.GetString()).ToList() : [v.GetString()];
        }
        IReadOnlyList<int>? classes = null;
        if (c.HasPath("classes") && List("classes") is { Count: > 0 } ids)
            classes = TaskPlan.Collapse(ids.Select(t => int.TryParse(t, out var id) && id >= 0 ? id
                : throw new InvalidDataException($"{origin}{at}.classes: '{t}' is not a class id")).ToList(), $"{origin}{at}.classes", x => x.ToString(), null);
        int? maxSteps = null;
        if (c.HasPath("max-steps"))
            maxSteps = int.TryParse(c.GetString("max-steps"), out var m) && m >= 0 ? m
                : throw new InvalidDataException($"{origin}{at}.max-steps: '{c.GetString("max-steps")}' is not a number of steps (0 = the HyperRule's)");
        if (c.HasPath("protocol"))
            vtab1k = c.GetString("protocol") switch
            {
                BitActors.Model.Recipe.Vtab1k.Name => true,
                "shots" => false,
                var other => throw new InvalidDataException($"{origin}{at}.protocol: '{other}' is not a protocol (one of: {string.Join(", ", Protocols)})"),
            };
        if (vtab1k && c.HasPath("shots"))
            throw new InvalidDataException($"{origin}{at}.shots: a VTAB-1k dataset draws 1,000 examples per task, not shots; leave shots out");
        return new SuiteDataset(name.Trim(),
            classes,
            c.HasPath("shots") ? TaskPlan.ParseShots(List("shots"), $"{origin}{at}.shots") : shots,
            c.HasPath("seeds") ? TaskPlan.ParseSeeds(List("seeds"), $"{origin}{at}.seeds") : seeds,
            maxSteps, vtab1k);
    }

    private static TransferSuite Checked(IReadOnlyList<SuiteDataset> datasets, string what)
    {
        var twice = datasets.GroupBy(d => d.Name).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (twice.Count > 0)
            throw new InvalidDataException($"{what}: dataset {string.Join(", ", twice.Select(n => $"'{n}'"))} named more than once (each dataset once; its shots and seeds are lists)");
        return new TransferSuite(datasets);
    }

    /// <summary>
    /// The tasks of every dataset, each dataset's manifest found with <paramref name="manifestOf"/> (null: not published) and
    /// checked (<see cref="TrainingPreconditions"/>): an unknown dataset, one without its splits or with classes it lacks is
    /// refused before any training, naming it. <paramref name="what"/> names the source in errors (<c>--dataset</c>).
    /// </summary>
    public IReadOnlyList<FineTuneTask> Tasks(Func<string, DatasetManifest?> manifestOf, bool scratch, string what, string where)
    {
        var tasks = new List<FineTuneTask>();
        foreach (var d in Datasets)
        {
            var manifest = manifestOf(d.Name)
                ?? throw new InvalidDataException($"{what}: dataset '{d.Name}' is not published at {where} (see `bitactors publish --dataset {d.Name}`)");
            var classes = d.Classes is null ? ClassSubset.Range(0, manifest.Classes.Count) : new ClassSubset(d.Classes.ToArray());
            TrainingPreconditions.Check(manifest, classes, $"{what} {d.Name}");
            tasks.AddRange(new TaskPlan(d.Name, classes, d.Shots, d.Seeds) { Scratch = scratch, NamePrefix = IsSeveral ? d.Name : null, MaxSteps = d.MaxSteps, Vtab1k = d.Vtab1k }.Tasks());
        }
        return tasks;
    }

    /// <summary>What the suite asks for, for a run key: every dataset with its classes, shots, seeds and step cap.</summary>
    public string Describe() => string.Join(";", Datasets.Select(d =>
        $"{d.Name}|{(d.Classes is null ? "all" : string.Join(",", d.Classes))}|{string.Join(",", d.Shots.Select(k => k ?? 0))}|{string.Join(",", d.Seeds)}|{d.MaxSteps?.ToString() ?? "-"}{(d.Vtab1k ? "|vtab-1k" : "")}"));
}
