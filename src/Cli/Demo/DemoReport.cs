using System.Globalization;
using System.Text;
using System.Text.Json;
using BitActors.Actors;
using Spectre.Console;

namespace BitActors.Cli.Demo;

/// <summary>The demo's results: a console table, and report.md + report.json in the run's folder.</summary>
public sealed record DemoReport(RunCompleted Run, string Dataset, TimeSpan Wall, IReadOnlyDictionary<string, int> EventsByType)
{
    private IEnumerable<FineTuneCompleted> Rows => Run.Completed.OrderBy(c => c.Task.Shots ?? int.MaxValue).ThenBy(c => c.Task.FromScratch);

    public Table ToTable()
    {
        // Compact enough for 80 columns (stdout that is not a terminal); top-5 is in report.json.
        var table = new Table().Title(Markup.Escape($"{Dataset} classes {Run.Completed.FirstOrDefault()?.Task.Classes}, test split")).AddColumns(
            "task", "init", "train", "steps", "test top-1", "test loss", "time");
        foreach (var c in Rows)
            table.AddRow(c.Task.Name, c.Task.FromScratch ? "scratch" : "backbone", c.Examples.ToString(), c.Steps.ToString(),
                c.Test.Top1.ToString("P2", CultureInfo.InvariantCulture), c.Test.Loss.ToString("F3", CultureInfo.InvariantCulture),
                $"{c.Elapsed.TotalSeconds:F0} s");
        foreach (var f in Run.Failed)
            table.AddRow(f.Task.Name, f.Task.FromScratch ? "scratch" : "backbone", "-", "-", "failed", "-", Markup.Escape(f.Reason));
        return table;
    }

    /// <summary>Transfer against scratch per shot count (medians over seeds when there are several).</summary>
    public IEnumerable<string> Comparisons()
    {
        foreach (var group in Run.Summaries.GroupBy(s => s.Shots))
        {
            var transfer = group.FirstOrDefault(s => !s.FromScratch);
            var scratch = group.FirstOrDefault(s => s.FromScratch);
            if (transfer is null || scratch is null) continue;
            var shots = group.Key is int k ? (k == 1 ? "1 example per class" : $"{k} examples per class") : "all examples";
            var median = transfer.PerSeed.Count > 1 ? $" (median of {transfer.PerSeed.Count} seeds)" : "";
            yield return $"{shots}{median}: transfer {transfer.MedianTop1:P2} vs scratch {scratch.MedianTop1:P2} " +
                $"({(transfer.MedianTop1 - scratch.MedianTop1) * 100:+0.00;-0.00} points)";
        }
    }

    public string Write(string folder)
    {
        Directory.CreateDirectory(folder);
        var json = new
        {
            run = Run.RunId,
            dataset = Dataset,
            wall_seconds = Wall.TotalSeconds,
            upstream = new
            {
                architecture = Run.Backbone.Arch, steps = Run.Backbone.Steps, final_train_loss = Run.Backbone.FinalLoss,
                final_train_top1 = Run.Backbone.FinalAccuracy, test = Run.Backbone.UpstreamTest, seconds = Run.Backbone.Elapsed.TotalSeconds, checkpoint = Run.Backbone.Checkpoint,
            },
            tasks = Rows.Select(c => new
            {
                task = c.Task.Name, init = c.Task.FromScratch ? "scratch" : "backbone", classes = c.Task.Classes.Classes, shots = c.Task.Shots,
                seed = c.Task.Seed, examples = c.Examples, steps = c.Steps, test = c.Test, seconds = c.Elapsed.TotalSeconds,
                checkpoint = c.Checkpoint, hyperparameters = c.HyperParameters,
            }),
            failed = Run.Failed.Select(f => new { task = f.Task.Name, reason = f.Reason }),
            summaries = Run.Summaries.Select(s => new { group = s.Group, init = s.FromScratch ? "scratch" : "backbone", shots = s.Shots,
                per_seed = s.PerSeed.Select(p => new { seed = p.Seed, top1 = p.Top1 }), median_top1 = s.MedianTop1 }),
            model_events = EventsByType,
        };
        File.WriteAllText(Path.Combine(folder, "report.json"), JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));

        var md = new StringBuilder();
        md.AppendLine($"# BitActors demo — run {Run.RunId}").AppendLine();
        md.AppendLine($"Upstream: {Run.Backbone.Arch}, {Run.Backbone.Steps} steps, test top-1 {Run.Backbone.UpstreamTest.Top1:P2} on its own classes ({Run.Backbone.UpstreamTest.Examples} images), {Run.Backbone.Elapsed.TotalSeconds:F0} s.").AppendLine();
        md.AppendLine("| task | init | train examples | steps | test top-1 | test top-5 | test loss | time |");
        md.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var c in Rows)
            md.AppendLine($"| {c.Task.Name} | {(c.Task.FromScratch ? "scratch" : "BiT backbone")} | {c.Examples} | {c.Steps} | {c.Test.Top1:P2} | {c.Test.Top5:P2} | {c.Test.Loss:F3} | {c.Elapsed.TotalSeconds:F0} s |");
        md.AppendLine();
        foreach (var line in Comparisons()) md.AppendLine($"- {line}");
        md.AppendLine().AppendLine($"Model events on bit.models: {string.Join(", ", EventsByType.Select(e => $"{e.Value} × {e.Key}"))}. Wall time {Wall.TotalSeconds:F0} s.");
        File.WriteAllText(Path.Combine(folder, "report.md"), md.ToString());
        return folder;
    }
}
