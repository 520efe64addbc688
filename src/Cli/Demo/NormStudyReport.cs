using System.Globalization;
using System.Text;
using System.Text.Json;
using BitActors.Actors;
using ScottPlot;
using Spectre.Console;

namespace BitActors.Cli.Demo;

/// <summary>
/// The results of <c>demo --study norm</c>: per normalisation, the upstream test top-1 on the upstream classes
/// (the paper's Table 4) and the transfer test top-1 on the downstream task (Table 5), as a console table,
/// <c>report.md</c>, <c>results.json</c> and <c>norm-study.png</c>.
/// </summary>
public sealed record NormStudyReport(string StudyId, IReadOnlyList<(NormStudy.Variant Variant, RunSpec Spec, RunCompleted Run)> Results,
    TimeSpan Wall, string Command)
{
    public const string ResultsFile = "results.json";
    public const string MarkdownFile = "report.md";
    public const string PlotFile = "norm-study.png";

    /// <summary>One line of the table: a variant's upstream and its transfer (median over seeds of each task group).</summary>
    public sealed record Row(string Label, double UpstreamTop1, double UpstreamSeconds, IReadOnlyList<SeedSummary> Transfer, RunCompleted Run, RunSpec Spec);

    public IReadOnlyList<Row> Rows => Results.Select(r => new Row(r.Variant.Label, r.Run.Backbone.UpstreamTest.Top1, r.Run.Backbone.Elapsed.TotalSeconds,
        r.Run.Summaries.OrderBy(s => s.Shots ?? int.MaxValue).ToList(), r.Run, r.Spec)).ToList();

    private IReadOnlyList<string> Groups => Rows.SelectMany(r => r.Transfer.Select(s => s.Group)).Distinct().ToList();

    private static string Pct(double v) => (v * 100).ToString("F2", CultureInfo.InvariantCulture) + " %";

    private static string Transfer(Row row, string group) =>
        row.Transfer.FirstOrDefault(s => s.Group == group) is { } s ? Pct(s.MedianTop1) : "failed";

    public Table ToTable()
    {
        var table = new Table().Title(Markup.Escape("normalisation study: upstream and transfer test top-1")).AddColumns(["norm", "upstream top-1", .. Groups, "upstream time"]);
        foreach (var r in Rows)
            table.AddRow([r.Label, Pct(r.UpstreamTop1), .. Groups.Select(g => Transfer(r, g)), $"{r.UpstreamSeconds:F0} s"]);
        return table;
    }

    public object ResultsJson()
    {
        var first = Results[0].Spec;
        return new
        {
            study = StudyId,
            command = Command,
            wall_seconds = Wall.TotalSeconds,
            machine = new { processors = Environment.ProcessorCount, device = first.Device, os = System.Runtime.InteropServices.RuntimeInformation.OSDescription },
            upstream = new
            {
                architecture = first.Upstream.Model.Arch, classes = first.Upstream.Data.Classes.Classes, steps = first.Upstream.Schedule.Steps, batch = first.Upstream.Schedule.BatchSize,
                per_device_batch = first.Upstream.Optimizer.MicroBatch > 0 ? first.Upstream.Optimizer.MicroBatch : first.Upstream.Schedule.BatchSize,
                base_lr_per_256 = first.Upstream.Schedule.BaseLrPer256, weight_decay = first.Upstream.Optimizer.WeightDecay, mixup = first.Upstream.Optimizer.MixUpAlpha,
            },
            finetune = new { rule = "bit-hyperrule", batch = first.FineTune.Recipe.BatchSize, per_device_batch = first.FineTune.Recipe.MicroBatch > 0 ? first.FineTune.Recipe.MicroBatch : first.FineTune.Recipe.BatchSize,
                base_lr = first.FineTune.Recipe.BaseLr, max_steps = first.FineTune.Recipe.MaxSteps, classes = first.Tasks.FirstOrDefault()?.Classes.Classes },
            variants = Rows.Select(r => new
            {
                norm = r.Label,
                upstream = new
                {
                    run = r.Run.RunId, steps = r.Run.Backbone.Steps, final_train_loss = r.Run.Backbone.FinalLoss, seconds = r.UpstreamSeconds,
                    test = new { top1 = r.UpstreamTop1, top5 = r.Run.Backbone.UpstreamTest.Top5, loss = r.Run.Backbone.UpstreamTest.Loss, examples = r.Run.Backbone.UpstreamTest.Examples },
                    checkpoint = r.Run.Backbone.Checkpoint,
                },
                transfer = r.Transfer.Select(s => new
                {
                    group = s.Group, shots = s.Shots, median_top1 = s.MedianTop1,
                    per_seed = s.PerSeed.Select(p => new { seed = p.Seed, top1 = p.Top1 }),
                }),
                tasks = r.Run.Completed.Select(c => new { task = c.Task.Name, seed = c.Task.Seed, examples = c.Examples, steps = c.Steps, top1 = c.Test.Top1, seconds = c.Elapsed.TotalSeconds }),
                failed = r.Run.Failed.Select(f => new { task = f.Task.Name, reason = f.Reason }),
            }),
            files = new { report = MarkdownFile, plot = PlotFile },
        };
    }

    public string Markdown()
    {
        var first = Results[0].Spec;
        int perDevice = first.Upstream.Optimizer.MicroBatch > 0 ? first.Upstream.Optimizer.MicroBatch : first.Upstream.Schedule.BatchSize;
        var md = new StringBuilder();
        md.AppendLine($"# BitActors normalisation study — {StudyId}").AppendLine();
        md.AppendLine($"`{Command}`: wall time {Wall.TotalSeconds:F0} s on {Environment.ProcessorCount} cores ({first.Device}).").AppendLine();
        md.AppendLine($"Each row pre-trains {first.Upstream.Model.Arch} on fashion-mnist classes [{string.Join(",", first.Upstream.Data.Classes.Classes)}] for " +
            $"{first.Upstream.Schedule.Steps} steps at batch {first.Upstream.Schedule.BatchSize}, computed as micro-batches of **{perDevice} images** (the per-device batch: " +
            "BatchNorm's statistics come from one micro-batch), then fine-tunes it with the BiT-HyperRule on classes " +
            $"[{string.Join(",", first.Tasks.FirstOrDefault()?.Classes.Classes ?? [])}] (zero head). Upstream top-1 is on the upstream classes' test images " +
            "(the paper's Table 4); transfer top-1 on the downstream classes' test images (Table 5).").AppendLine();
        md.AppendLine($"| norm | upstream top-1 | {string.Join(" | ", Groups.Select(g => $"{g} (median)"))} | upstream time |");
        md.AppendLine($"|---|---|{string.Concat(Groups.Select(_ => "---|"))}---|");
        foreach (var r in Rows)
            md.AppendLine($"| {r.Label} | {Pct(r.UpstreamTop1)} | {string.Join(" | ", Groups.Select(g => Transfer(r, g)))} | {r.UpstreamSeconds:F0} s |");
        md.AppendLine().AppendLine($"![upstream and transfer top-1 per normalisation]({PlotFile})").AppendLine();
        foreach (var r in Rows.SelectMany(r => r.Run.Failed.Select(f => (r.Label, f))))
            md.AppendLine($"- {r.Label}: {r.f.Task.Name} failed: {r.f.Reason}");
        md.AppendLine($"Every number is in `{ResultsFile}`; each variant's run folder holds its checkpoints and metrics.");
        return md.ToString();
    }

    public string Write(string folder)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, ResultsFile), JsonSerializer.Serialize(ResultsJson(), new JsonSerializerOptions { WriteIndented = true }));
        File.WriteAllText(Path.Combine(folder, MarkdownFile), Markdown());
        WritePlot(Path.Combine(folder, PlotFile));
        return folder;
    }

    /// <summary>Grouped bars: per variant, upstream top-1 and each transfer group's median top-1.</summary>
    private void WritePlot(string path)
    {
        var plot = new Plot();
        DemoPlot.UseFont(plot);
        var rows = Rows;
        var series = new List<(string Name, Func<Row, double?> Value)> { ("upstream (classes 0-4)", r => r.UpstreamTop1) };
        series.AddRange(Groups.Select(g => ($"{g} (classes 5-9)", (Func<Row, double?>)(r => r.Transfer.FirstOrDefault(s => s.Group == g)?.MedianTop1))));
        var palette = new ScottPlot.Palettes.Category10();
        double width = 0.8 / series.Count, lowest = 100;
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (int i = 0; i < rows.Count; i++) ticks.AddMajor(i, rows[i].Label);
        for (int s = 0; s < series.Count; s++)
        {
            var bars = new List<Bar>();
            for (int i = 0; i < rows.Count; i++)
                if (series[s].Value(rows[i]) is double v)
                {
                    bars.Add(new Bar { Position = i - 0.4 + width * (s + 0.5), Value = v * 100, Size = width * 0.9, FillColor = palette.GetColor(s) });
                    lowest = Math.Min(lowest, v * 100);
                }
            plot.Add.Bars(bars);
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = series[s].Name, FillColor = palette.GetColor(s) });
        }
        plot.Axes.Bottom.TickGenerator = ticks;
        plot.Axes.SetLimitsY(Math.Max(0, Math.Floor(lowest / 10) * 10 - 10), 100);
        plot.Title("normalisation study: test top-1");
        plot.YLabel("test top-1 (%)");
        plot.ShowLegend(Edge.Bottom);
        plot.SavePng(path, 900, 600);
    }
}
