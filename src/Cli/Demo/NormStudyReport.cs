using System.Globalization;
using System.Text;
using System.Text.Json;
using BitActors.Actors;
using ScottPlot;
using Spectre.Console;

namespace BitActors.Cli.Demo;

/// <summary>
/// The results of <c>demo --study norm</c>: per normalisation, over the study's seeds, the mean ± sample sd (and every
/// seed's value) of the upstream test top-1 on the upstream classes (the paper's Table 4) and of the transfer test top-1
/// on the downstream task (Table 5), beside the paper's numbers (<see cref="NormStudyComparison.Paper"/>), and which of
/// the paper's orderings reproduce (<see cref="NormStudyComparison"/>), as a console table, <c>report.md</c>,
/// <c>results.json</c> and <c>norm-study.png</c>.
/// </summary>
public sealed record NormStudyReport(string StudyId, IReadOnlyList<(NormStudy.Variant Variant, int Seed, RunSpec Spec, RunCompleted Run)> Results,
    TimeSpan Wall, string Command)
{
    public const string ResultsFile = "results.json";
    public const string MarkdownFile = "report.md";
    public const string PlotFile = "norm-study.png";

    /// <summary>Per-seed top-1 (fractions) with their mean and sample standard deviation (n − 1; 0 for one seed).</summary>
    public sealed record Spread(IReadOnlyList<(int Seed, double Top1)> PerSeed)
    {
        public double Mean => PerSeed.Average(p => p.Top1);

        public double StandardDeviation => PerSeed.Count < 2 ? 0 : Math.Sqrt(PerSeed.Sum(p => (p.Top1 - Mean) * (p.Top1 - Mean)) / (PerSeed.Count - 1));

        /// <summary>"83.10 ± 0.52 %" (percent), or "83.10 %" for one seed.</summary>
        public string Text => PerSeed.Count < 2 ? Pct(Mean) : $"{P(Mean)} ± {P(StandardDeviation)} %";

        public string SeedsText => string.Join(" / ", PerSeed.Select(p => P(p.Top1)));
    }

    /// <summary>One line of the table: a variant over its seeds (runs in seed order).</summary>
    public sealed record Row(NormStudy.Variant Variant, Spread Upstream, IReadOnlyDictionary<string, Spread> Transfer, double UpstreamSeconds,
        IReadOnlyList<(int Seed, RunSpec Spec, RunCompleted Run)> Runs)
    {
        public string Label => Variant.Label;
    }

    public IReadOnlyList<Row> Rows => Results.GroupBy(r => r.Variant).Select(g =>
    {
        var runs = g.OrderBy(r => r.Seed).Select(r => (r.Seed, r.Spec, r.Run)).ToList();
        var transfer = runs.SelectMany(r => r.Run.Summaries).GroupBy(s => s.Group)
            .ToDictionary(s => s.Key, s => new Spread(s.SelectMany(x => x.PerSeed).OrderBy(p => p.Seed).ToList()));
        return new Row(g.Key, new Spread(runs.Select(r => (r.Seed, r.Run.Backbone.UpstreamTest.Top1)).ToList()), transfer,
            runs.Average(r => r.Run.Backbone.Elapsed.TotalSeconds), runs);
    }).ToList();

    private IReadOnlyList<string> Groups => Results.SelectMany(r => r.Run.Summaries).OrderBy(s => s.Shots ?? int.MaxValue).Select(s => s.Group).Distinct().ToList();

    private IReadOnlyList<int> Seeds => Results.Select(r => r.Seed).Distinct().Order().ToList();

    /// <summary>The paper's orderings at every stage, judged from this study's per-seed values.</summary>
    public IReadOnlyList<NormStudyComparison.Ordering> Orderings
    {
        get
        {
            var rows = Rows;
            return NormStudyComparison.Compare(rows.ToDictionary(r => r.Label, r => r.Upstream.PerSeed),
                Groups.ToDictionary(g => g, g => (IReadOnlyDictionary<string, IReadOnlyList<(int Seed, double Top1)>>)rows
                    .Where(r => r.Transfer.ContainsKey(g)).ToDictionary(r => r.Label, r => r.Transfer[g].PerSeed)));
        }
    }

    public string Sentence => NormStudyComparison.Sentence(Orderings);

    private static string P(double v) => (v * 100).ToString("F2", CultureInfo.InvariantCulture);

    private static string Pct(double v) => P(v) + " %";

    private static string Paper(double percent) => percent.ToString("0.0#", CultureInfo.InvariantCulture) + " %";

    private static string Transfer(Row row, string group) => row.Transfer.TryGetValue(group, out var s) ? s.Text : "failed";

    public Table ToTable()
    {
        var table = new Table().Title(Markup.Escape($"normalisation study: test top-1, mean ± sd over {Seeds.Count} seed(s)"))
            .AddColumns(["norm", "upstream top-1", "paper T4", .. Groups, "paper T5", "upstream time"]);
        foreach (var r in Rows)
            table.AddRow([r.Label, r.Upstream.Text, Paper(NormStudyComparison.Paper[r.Label].Upstream), .. Groups.Select(g => Transfer(r, g)),
                Paper(NormStudyComparison.Paper[r.Label].Transfer), $"{r.UpstreamSeconds:F0} s"]);
        table.Caption(Markup.Escape(Sentence));
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
            seeds = Seeds,
            machine = new { processors = Environment.ProcessorCount, device = first.Device, os = System.Runtime.InteropServices.RuntimeInformation.OSDescription },
            upstream = new
            {
                architecture = first.Upstream.Model.Arch, classes = first.Upstream.Data.Classes.Classes, steps = first.Upstream.Schedule.Steps, batch = first.Upstream.Schedule.BatchSize,
                per_device_batch = first.Upstream.Optimizer.MicroBatch > 0 ? first.Upstream.Optimizer.MicroBatch : first.Upstream.Schedule.BatchSize,
                base_lr_per_256 = first.Upstream.Schedule.BaseLrPer256, weight_decay = first.Upstream.Optimizer.WeightDecay, mixup = first.Upstream.Optimizer.MixUpAlpha,
            },
            finetune = new { rule = "bit-hyperrule", batch = first.FineTune.Recipe.BatchSize, per_device_batch = first.FineTune.Recipe.MicroBatch > 0 ? first.FineTune.Recipe.MicroBatch : first.FineTune.Recipe.BatchSize,
                base_lr = first.FineTune.Recipe.BaseLr, max_steps = first.FineTune.Recipe.MaxSteps, classes = first.Tasks.FirstOrDefault()?.Classes.Classes },
            paper = new { source = NormStudyComparison.PaperSource, url = "https://arxiv.org/abs/1912.11370v3" },
            variants = Rows.Select(r => new
            {
                norm = r.Label,
                paper = new { table4_upstream_top1_percent = NormStudyComparison.Paper[r.Label].Upstream, table5_vtab1k_mean_percent = NormStudyComparison.Paper[r.Label].Transfer },
                upstream = new
                {
                    mean_top1 = r.Upstream.Mean, sd_top1 = r.Upstream.StandardDeviation, mean_seconds = r.UpstreamSeconds,
                    per_seed = r.Runs.Select(x => new
                    {
                        seed = x.Seed, run = x.Run.RunId, top1 = x.Run.Backbone.UpstreamTest.Top1, top5 = x.Run.Backbone.UpstreamTest.Top5, loss = x.Run.Backbone.UpstreamTest.Loss,
                        examples = x.Run.Backbone.UpstreamTest.Examples, steps = x.Run.Backbone.Steps, final_train_loss = x.Run.Backbone.FinalLoss,
                        seconds = x.Run.Backbone.Elapsed.TotalSeconds, checkpoint = x.Run.Backbone.Checkpoint,
                    }),
                },
                transfer = Groups.Where(r.Transfer.ContainsKey).Select(g => new
                {
                    group = g, mean_top1 = r.Transfer[g].Mean, sd_top1 = r.Transfer[g].StandardDeviation,
                    per_seed = r.Transfer[g].PerSeed.Select(p => new { seed = p.Seed, top1 = p.Top1 }),
                }),
                tasks = r.Runs.SelectMany(x => x.Run.Completed).Select(c => new { task = c.Task.Name, seed = c.Task.Seed, examples = c.Examples, steps = c.Steps, top1 = c.Test.Top1, seconds = c.Elapsed.TotalSeconds }),
                failed = r.Runs.SelectMany(x => x.Run.Failed).Select(f => new { task = f.Task.Name, reason = f.Reason }),
            }),
            orderings = Orderings.Select(o => new
            {
                stage = o.Stage, first = o.First, second = o.Second, claim = o.Claim, paper_points = o.PaperPoints,
                mean_points = o.Here?.Mean, interval95_points = o.Here?.Interval95 is var (low, high) ? new[] { low, high } : null,
                per_seed_points = o.Here?.PerSeed.Select(p => new { seed = p.Seed, points = p.Points }), verdict = o.VerdictText,
            }),
            summary = Sentence,
            files = new { report = MarkdownFile, plot = PlotFile },
        };
    }

    public string Markdown()
    {
        var first = Results[0].Spec;
        int perDevice = first.Upstream.Optimizer.MicroBatch > 0 ? first.Upstream.Optimizer.MicroBatch : first.Upstream.Schedule.BatchSize;
        var seeds = Seeds;
        var md = new StringBuilder();
        md.AppendLine($"# BitActors normalisation study — {StudyId}").AppendLine();
        md.AppendLine($"`{Command}`: wall time {Wall.TotalSeconds:F0} s on {Environment.ProcessorCount} cores ({first.Device}).").AppendLine();
        md.AppendLine($"Each row pre-trains {first.Upstream.Model.Arch} on fashion-mnist classes [{string.Join(",", first.Upstream.Data.Classes.Classes)}] for " +
            $"{first.Upstream.Schedule.Steps} steps at batch {first.Upstream.Schedule.BatchSize}, computed as micro-batches of **{perDevice} images** (the per-device batch: " +
            "BatchNorm's statistics come from one micro-batch), then fine-tunes it with the BiT-HyperRule on classes " +
            $"[{string.Join(",", first.Tasks.FirstOrDefault()?.Classes.Classes ?? [])}] (zero head), once per seed ({seeds.Count}: {string.Join(", ", seeds)}; " +
            "the seed of the upstream run and of the task). Upstream top-1 is on the upstream classes' test images " +
            "(the paper's Table 4); transfer top-1 on the downstream classes' test images (Table 5). Values are mean ± sample sd over the seeds, " +
            "then each seed's value in seed order.").AppendLine();
        md.AppendLine($"| norm | upstream top-1 | per seed | paper Table 4 | {string.Join(" | ", Groups.Select(g => $"{g} | per seed"))} | paper Table 5 (VTAB-1k) | upstream time (mean) |");
        md.AppendLine($"|---|---|---|---|{string.Concat(Groups.Select(_ => "---|---|"))}---|---|");
        foreach (var r in Rows)
            md.AppendLine($"| {r.Label} | {r.Upstream.Text} | {r.Upstream.SeedsText} | {Paper(NormStudyComparison.Paper[r.Label].Upstream)} | " +
                $"{string.Join(" | ", Groups.Select(g => r.Transfer.TryGetValue(g, out var s) ? $"{s.Text} | {s.SeedsText}" : "failed | -"))} | " +
                $"{Paper(NormStudyComparison.Paper[r.Label].Transfer)} | {r.UpstreamSeconds:F0} s |");
        md.AppendLine().AppendLine($"![upstream and transfer top-1 per normalisation]({PlotFile})").AppendLine();
        md.AppendLine("## The paper's orderings").AppendLine();
        md.AppendLine(Sentence).AppendLine();
        md.AppendLine("| paper's ordering | paper Δ (points) | here Δ (mean, points) | 95 % interval (paired t) | verdict |");
        md.AppendLine("|---|---|---|---|---|");
        foreach (var o in Orderings)
            md.AppendLine($"| {o.Claim} ({o.First} − {o.Second}) | {PairedDifference.Points(o.PaperPoints)} | " +
                $"{(o.Here is null ? "-" : PairedDifference.Points(o.Here.Mean))} | {o.Here?.IntervalText ?? "-"} | {o.VerdictText} |");
        md.AppendLine().AppendLine($"A difference reproduces where its 95 % interval (Student t over the per-seed differences, paired by seed) excludes zero " +
            "on the paper's side, is reversed where it excludes zero on the other side, and shows no clear difference otherwise. " +
            $"Paper: {NormStudyComparison.PaperSource}, https://arxiv.org/abs/1912.11370v3. The paper's models are ResNet-50 on ILSVRC-2012 and VTAB-1k; " +
            "here a small model on Fashion-MNIST, so only the orderings are compared, never the values.").AppendLine();
        foreach (var r in Rows.SelectMany(r => r.Runs.SelectMany(x => x.Run.Failed.Select(f => (r.Label, f)))))
            md.AppendLine($"- {r.Label}: {r.f.Task.Name} failed: {r.f.Reason}");
        md.AppendLine($"Every number is in `{ResultsFile}`; each variant's run folder (one per seed) holds its checkpoints and metrics.");
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

    /// <summary>Grouped bars: per variant, the mean upstream top-1 and each transfer group's mean top-1, with ± sd error bars.</summary>
    private void WritePlot(string path)
    {
        var plot = new Plot();
        DemoPlot.UseFont(plot);
        var rows = Rows;
        var series = new List<(string Name, Func<Row, Spread?> Value)> { ("upstream (classes 0-4)", r => r.Upstream) };
        series.AddRange(Groups.Select(g => ($"{g} (classes 5-9)", (Func<Row, Spread?>)(r => r.Transfer.GetValueOrDefault(g)))));
        var palette = new ScottPlot.Palettes.Category10();
        double width = 0.8 / series.Count, lowest = 100;
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (int i = 0; i < rows.Count; i++) ticks.AddMajor(i, rows[i].Label);
        for (int s = 0; s < series.Count; s++)
        {
            var bars = new List<Bar>();
            for (int i = 0; i < rows.Count; i++)
                if (series[s].Value(rows[i]) is { } spread)
                {
                    bars.Add(new Bar { Position = i - 0.4 + width * (s + 0.5), Value = spread.Mean * 100, Error = spread.StandardDeviation * 100, Size = width * 0.9, FillColor = palette.GetColor(s) });
                    lowest = Math.Min(lowest, (spread.Mean - spread.StandardDeviation) * 100);
                }
            plot.Add.Bars(bars);
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = series[s].Name, FillColor = palette.GetColor(s) });
        }
        plot.Axes.Bottom.TickGenerator = ticks;
        plot.Axes.SetLimitsY(Math.Max(0, Math.Floor(lowest / 10) * 10 - 10), 100);
        plot.Title($"normalisation study: test top-1, mean ± sd over {Seeds.Count} seed(s)");
        plot.YLabel("test top-1 (%)");
        plot.ShowLegend(Edge.Bottom);
        plot.SavePng(path, 900, 600);
    }
}
