using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using BitActors.Actors;
using BitActors.Cli.Demo;
using Spectre.Console;

namespace BitActors.Cli.Reports;

/// <summary>
/// The report of a run with several downstream datasets (a transfer suite, as BiT and VTAB report one backbone on many
/// tasks): per dataset × shots the median test top-1 over seeds of transfer and of scratch, the paired transfer − scratch
/// difference with its 95 % interval (<see cref="PairedDifference"/>), each task's validation top-1 where it has one, and
/// the suite mean: the mean over datasets of the transfer median at each shot count, and overall the mean over every
/// dataset × shots row. Written as <c>suite/suite.md</c>, <c>suite/results.json</c> and <c>suite/suite.png</c> in the run folder.
/// </summary>
public sealed record SuiteReport(IReadOnlyList<SuiteReport.Row> Rows, IReadOnlyList<SuiteReport.Mean> Means)
{
    public const string Folder = "suite";
    public const string ReportFile = "suite.md";
    public const string ResultsFile = "results.json";
    public const string PlotFile = "suite.png";

    /// <summary>One seed's task: its test top-1, validation top-1 (null: none held out) and name.</summary>
    public sealed record Run(int Seed, double Top1, double? ValidationTop1, string Task, int Steps, int Examples);

    /// <summary>One arm (transfer or scratch) of a dataset × shots row: every seed's run and the median over them.</summary>
    public sealed record Arm(IReadOnlyList<Run> Runs)
    {
        public double MedianTop1 => SeedSummary.Median(Runs.Select(r => r.Top1));

        /// <summary>The median validation top-1; null when a run has none.</summary>
        public double? MedianValidationTop1 => Runs.All(r => r.ValidationTop1 is not null) ? SeedSummary.Median(Runs.Select(r => r.ValidationTop1!.Value)) : null;
    }

    /// <summary>A dataset at one shot count (null: every example), or under VTAB-1k (<c>Vtab1k</c>, <c>Shots</c> null).</summary>
    public sealed record Row(string Dataset, int? Shots, int Classes, Arm? Transfer, Arm? Scratch, bool Vtab1k = false)
    {
        public string Label => ShotsText(Shots, Vtab1k);

        /// <summary>Transfer − scratch in points, paired by seed; null without both arms or a common seed.</summary>
        public PairedDifference? Difference => Transfer is null || Scratch is null ? null
            : PairedDifference.Of(Transfer.Runs.Select(r => (r.Seed, r.Top1)), Scratch.Runs.Select(r => (r.Seed, r.Top1)));
    }

    /// <summary>The suite mean at one shot count (null: every example), over the datasets that have it; overall when <c>Overall</c>.</summary>
    public sealed record Mean(int? Shots, bool Overall, double TransferTop1, double? ScratchTop1, int Rows, bool Vtab1k = false)
    {
        public string Label => Overall ? "overall" : ShotsText(Shots, Vtab1k);
    }

    /// <summary>The rows by dataset (in the order the datasets first finished a task) then shots (few first, all last).</summary>
    public static SuiteReport Of(IEnumerable<FineTuneCompleted> completed)
    {
        var list = completed.ToList();
        var datasets = list.Select(c => c.Task.Dataset).Distinct().ToList();
        static Arm? ArmOf(IEnumerable<FineTuneCompleted> tasks) => tasks.OrderBy(c => c.Task.Seed)
            .Select(c => new Run(c.Task.Seed, c.Test.Top1, c.Validation?.Top1, c.Task.Name, c.Steps, c.Examples)).ToList() is { Count: > 0 } runs ? new Arm(runs) : null;
        var rows = list.GroupBy(c => (c.Task.Dataset, c.Task.Shots, c.Task.Vtab1k))
            .OrderBy(g => datasets.IndexOf(g.Key.Dataset)).ThenBy(g => g.Key.Vtab1k).ThenBy(g => g.Key.Shots ?? int.MaxValue)
            .Select(g => new Row(g.Key.Dataset, g.Key.Shots, g.First().Task.Classes.Count, ArmOf(g.Where(c => !c.Task.FromScratch)), ArmOf(g.Where(c => c.Task.FromScratch)),
                g.Key.Vtab1k))
            .ToList();
        static Mean? MeanOf(int? shots, bool overall, IReadOnlyList<Row> of, bool vtab1k = false)
        {
            var transfer = of.Where(r => r.Transfer is not null).ToList();
            if (transfer.Count == 0) return null;
            var scratch = of.Where(r => r.Scratch is not null).ToList();
            return new Mean(shots, overall, transfer.Average(r => r.Transfer!.MedianTop1), scratch.Count == transfer.Count ? scratch.Average(r => r.Scratch!.MedianTop1) : null, transfer.Count, vtab1k);
        }
        var means = rows.GroupBy(r => (r.Shots, r.Vtab1k)).OrderBy(g => g.Key.Vtab1k).ThenBy(g => g.Key.Shots ?? int.MaxValue)
            .Select(g => MeanOf(g.Key.Shots, false, g.ToList(), g.Key.Vtab1k))
            .Append(MeanOf(null, true, rows)).OfType<Mean>().ToList();
        return new SuiteReport(rows, means);
    }

    public static string ShotsText(int? shots, bool vtab1k = false) => vtab1k ? BitActors.Model.Recipe.Vtab1k.Name : shots?.ToString(CultureInfo.InvariantCulture) ?? "all";

    private static string Pct(double? v) => v is double x && double.IsFinite(x) ? (x * 100).ToString("F2", CultureInfo.InvariantCulture) + " %" : "-";

    public string Markdown(string runId)
    {
        var md = new StringBuilder();
        md.AppendLine($"# Transfer suite of run {runId}").AppendLine();
        md.AppendLine("Test top-1, median over seeds; transfer − scratch in points, paired by seed, with its 95 % Student-t interval.").AppendLine();
        md.AppendLine("| dataset | classes | shots | seeds | transfer | scratch | transfer − scratch | 95 % interval | verdict | transfer validation |");
        md.AppendLine("|---|---:|---|---:|---:|---:|---:|---|---|---:|");
        foreach (var r in Rows)
        {
            var d = r.Difference;
            md.AppendLine($"| {r.Dataset} | {r.Classes} | {r.Label} | {Math.Max(r.Transfer?.Runs.Count ?? 0, r.Scratch?.Runs.Count ?? 0)} | " +
                $"{Pct(r.Transfer?.MedianTop1)} | {Pct(r.Scratch?.MedianTop1)} | {(d is null ? "-" : PairedDifference.Points(d.Mean))} | {d?.IntervalText ?? "-"} | " +
                $"{d?.Verdict ?? "-"} | {Pct(r.Transfer?.MedianValidationTop1)} |");
        }
        md.AppendLine().AppendLine("## Suite mean").AppendLine();
        md.AppendLine("The mean over datasets of the median test top-1 (overall: over every dataset × shots row).").AppendLine();
        md.AppendLine("| shots | datasets | transfer | scratch |").AppendLine("|---|---:|---:|---:|");
        foreach (var m in Means) md.AppendLine($"| {(m.Overall ? "**overall**" : m.Label)} | {m.Rows} | {Pct(m.TransferTop1)} | {Pct(m.ScratchTop1)} |");
        md.AppendLine().AppendLine("## Tasks").AppendLine();
        md.AppendLine("| task | dataset | shots | init | seed | examples | steps | test top-1 | validation top-1 |").AppendLine("|---|---|---|---|---:|---:|---:|---:|---:|");
        foreach (var r in Rows)
            foreach (var (arm, init) in new[] { (r.Transfer, "backbone"), (r.Scratch, "scratch") })
                foreach (var run in arm?.Runs ?? [])
                    md.AppendLine($"| {run.Task} | {r.Dataset} | {r.Label} | {init} | {run.Seed} | {run.Examples} | {run.Steps} | {Pct(run.Top1)} | {Pct(run.ValidationTop1)} |");
        md.AppendLine().AppendLine($"![transfer suite]({PlotFile})");
        return md.ToString();
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Every number of the tables: per row both arms with each seed, the paired difference, and the suite means.</summary>
    public object Results(string runId)
    {
        static object? ArmJson(Arm? a) => a is null ? null : new
        {
            median_top1 = a.MedianTop1,
            median_validation_top1 = a.MedianValidationTop1,
            runs = a.Runs.Select(r => new { seed = r.Seed, task = r.Task, top1 = r.Top1, validation_top1 = r.ValidationTop1, steps = r.Steps, examples = r.Examples }),
        };
        return new
        {
            run = runId,
            rows = Rows.Select(r => new
            {
                dataset = r.Dataset,
                classes = r.Classes,
                shots = r.Shots,
                protocol = r.Vtab1k ? BitActors.Model.Recipe.Vtab1k.Name : "shots",
                transfer = ArmJson(r.Transfer),
                scratch = ArmJson(r.Scratch),
                difference = r.Difference is { } d ? new
                {
                    mean_points = d.Mean,
                    median_points = d.Median,
                    interval95 = d.Interval95 is var (low, high) ? new[] { low, high } : null,
                    verdict = d.Verdict,
                    pairs = d.Count,
                } : null,
            }),
            suite_mean = Means.Select(m => new { shots = m.Label, datasets = m.Rows, transfer_top1 = m.TransferTop1, scratch_top1 = m.ScratchTop1 }),
        };
    }

    /// <summary>Writes suite.md, results.json and suite.png into <c>runFolder/suite/</c> (a plot that cannot be drawn is left out); returns the folder.</summary>
    public string Write(string runFolder, string runId)
    {
        var folder = Directory.CreateDirectory(Path.Combine(runFolder, Folder)).FullName;
        File.WriteAllText(Path.Combine(folder, ResultsFile), JsonSerializer.Serialize(Results(runId), JsonOptions));
        File.WriteAllText(Path.Combine(folder, ReportFile), Markdown(runId));
        try { SuitePlot.Write(Path.Combine(folder, PlotFile), this, $"Transfer suite, run {runId}"); }
        catch (Exception e) when (e is IOException or InvalidOperationException or TypeInitializationException or DllNotFoundException)
        {
            Serilog.Log.Warning("suite plot not written: {Message}", e.Message);
        }
        return folder;
    }

    /// <summary>The suite table on the terminal, after a run's task table.</summary>
    public static void Print(IAnsiConsole console, SuiteReport report)
    {
        var table = new Table().AddColumns("dataset", "shots", "transfer", "scratch", "transfer − scratch", "95 % interval");
        foreach (var r in report.Rows)
            table.AddRow(Markup.Escape(r.Dataset), r.Label, Pct(r.Transfer?.MedianTop1), Pct(r.Scratch?.MedianTop1),
                r.Difference is { } d ? PairedDifference.Points(d.Mean) : "-", r.Difference?.IntervalText ?? "-");
        foreach (var m in report.Means)
            table.AddRow($"suite mean ({m.Rows})", m.Label, Pct(m.TransferTop1), Pct(m.ScratchTop1), "", "");
        console.Write(table);
    }
}
