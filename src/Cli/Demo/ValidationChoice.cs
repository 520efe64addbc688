using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace BitActors.Cli.Demo;

/// <summary>
/// A setting chosen on validation: demo runs that differ in one setting (read from each run's results.json at a path
/// such as <c>finetune.base_lr</c>), each scored by the mean over its few-shot rows of the chosen arm's median
/// validation top-1 (test is never read), and the value of the best score picked (on a tie, the run given first).
/// The choices of several settings live in one JSON file, one entry per setting and arm, each with what was tried, every
/// score and the pick, so the demo's settings can be traced to a validation choice.
/// </summary>
public sealed record ValidationChoice(string Setting, string Arm, IReadOnlyList<ValidationChoice.Tried> Candidates)
{
    /// <summary>One run: the setting's value there, its score, and per few-shot row the arm's median validation top-1.</summary>
    public sealed record Tried(string Value, string Run, string Results, double Score, IReadOnlyList<(int Shots, double? Transfer, double? Scratch)> Rows);

    public Tried Pick => Candidates.Aggregate((best, t) => t.Score > best.Score ? t : best);

    /// <summary>Reads the runs; refuses, by file, a run without validation results or without the setting.</summary>
    public static ValidationChoice Of(string setting, string arm, IEnumerable<string> resultFiles)
    {
        if (arm is not ("transfer" or "scratch")) throw new ArgumentException($"--arm must be transfer or scratch, not '{arm}'");
        var tried = new List<Tried>();
        var tasks = new Dictionary<string, string>(); // per file: its few-shot rows and their seeds
        foreach (var file in resultFiles)
        {
            var root = JsonNode.Parse(File.ReadAllText(file)) ?? throw new InvalidDataException($"{file}: empty");
            var value = setting.Split('.').Aggregate((JsonNode?)root, (node, key) => node?[key])
                ?? throw new InvalidDataException($"{file}: no '{setting}' (a results.json of `bitactors demo` has e.g. finetune.base_lr, upstream.mixup, upstream.steps)");
            var rows = new List<(int, double?, double?)>();
            foreach (var row in root["table"]?.AsArray() ?? [])
            {
                if (row?["shots"]?.GetValue<int?>() is not int shots) continue; // the all-examples row: choices are made on the few-shot rows
                double? Median(string which) => row[which]?["median_validation_top1"]?.GetValue<double?>();
                if (Median(arm) is null) throw new InvalidDataException($"{file}: the {arm} arm of the {shots}-shot row has no validation top-1 " +
                    "(a run with bitactors.validation-fraction = 0, or from before the validation split)");
                rows.Add((shots, Median("transfer"), Median("scratch")));
                var seeds = row[arm]?["per_seed"]?.AsArray().Select(x => x?["seed"]?.GetValue<int>()) ?? [];
                tasks[file] = (tasks.GetValueOrDefault(file) is { } before ? before + " " : "") + $"{shots}-shot seeds {string.Join(",", seeds)}";
            }
            if (rows.Count == 0) throw new InvalidDataException($"{file}: no few-shot rows to score");
            var score = rows.Average(r => (arm == "transfer" ? r.Item2 : r.Item3)!.Value);
            tried.Add(new Tried(value.ToJsonString(), root["run"]?.GetValue<string>() ?? Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(file))) ?? file,
                file, score, rows));
        }
        if (tried.Count < 2) throw new ArgumentException("a choice needs at least two runs");
        var rowSets = tasks.Values.Distinct().ToList();
        if (rowSets.Count > 1) throw new InvalidDataException($"the runs score different few-shot tasks ({string.Join(" / ", rowSets)}): give runs of the same shots and seeds");
        if (tried.GroupBy(t => t.Value).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new InvalidDataException($"{setting} = {twice.Key} in {string.Join(" and ", twice.Select(t => t.Results))}: each run tried must have its own value");
        return new ValidationChoice(setting, arm, tried);
    }

    public JsonObject ToJson() => new()
    {
        ["setting"] = Setting,
        ["arm"] = Arm,
        ["metric"] = $"mean over the few-shot rows of the {Arm} arm's median validation top-1",
        ["tried"] = new JsonArray(Candidates.Select(t => (JsonNode)new JsonObject
        {
            ["value"] = JsonNode.Parse(t.Value),
            ["run"] = t.Run,
            ["results"] = t.Results,
            ["score"] = t.Score,
            ["rows"] = new JsonArray(t.Rows.Select(r => (JsonNode)new JsonObject
            {
                ["shots"] = r.Shots, ["transfer_median_validation_top1"] = r.Transfer, ["scratch_median_validation_top1"] = r.Scratch,
            }).ToArray()),
        }).ToArray()),
        ["pick"] = JsonNode.Parse(Pick.Value),
        ["picked_run"] = Pick.Run,
    };

    /// <summary>Writes this choice into <paramref name="path"/> (created if missing), replacing an earlier choice of the same setting for the same arm.</summary>
    public void WriteInto(string path)
    {
        var file = File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path))!.AsObject() : new JsonObject { ["choices"] = new JsonArray() };
        var choices = file["choices"]?.AsArray() ?? throw new InvalidDataException($"{path}: no 'choices' array");
        var earlier = choices.FirstOrDefault(c => c?["setting"]?.GetValue<string>() == Setting && c["arm"]?.GetValue<string>() == Arm);
        if (earlier is not null) choices[choices.IndexOf(earlier)] = ToJson();
        else choices.Add(ToJson());
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, file.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>One line per run and the pick, for the console.</summary>
    public IEnumerable<string> Lines()
    {
        foreach (var t in Candidates)
            yield return $"{Setting} = {t.Value}: {(t.Score * 100).ToString("F2", CultureInfo.InvariantCulture)} % ({Arm}, mean of median validation top-1 over " +
                $"{string.Join("/", t.Rows.Select(r => r.Shots))}-shot) — {t.Run}";
        yield return $"pick: {Setting} = {Pick.Value}";
    }
}
