using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using BitActors.Actors;
using Spectre.Console;

namespace BitActors.Cli.Demo;

/// <summary>
/// The results of <c>demo --study scale</c>: per upstream variant and shot count, the median transfer top-1 over seeds and
/// transfer − scratch paired by seed with its 95 % interval; per shot count, generated sentences that compare a bigger
/// upstream with a smaller one, paired by seed. As a console table, <c>report.md</c>, <c>results.json</c> and
/// <c>scale-study.png</c>.
/// </summary>
public sealed record ScaleStudyReport(string StudyId, IReadOnlyList<(ScaleStudy.Variant Variant, RunSpec Spec, RunCompleted Run)> Results,
    TimeSpan Wall, string Command)
{
    public const string ResultsFile = "results.json";
    public const string MarkdownFile = "report.md";
    public const string PlotFile = "scale-study.png";

    /// <summary>One variant's transfer at one shot count: each seed's top-1 and the pairing with scratch by seed.</summary>
    public sealed record Point(ScaleStudy.Variant Variant, int? Shots, IReadOnlyList<(int Seed, double Top1)> Transfer,
        IReadOnlyList<(int Seed, double Top1)> Scratch)
    {
        /// <summary>The median transfer top-1 on the validation hold-out (null: a task without one).</summary>
        public double? MedianValidationTop1 { get; init; }

        public double? MedianTop1 => Transfer.Count == 0 ? null : SeedSummary.Median(Transfer.Select(t => t.Top1));

        public double? ScratchMedianTop1 => Scratch.Count == 0 ? null : SeedSummary.Median(Scratch.Select(t => t.Top1));

        public PairedDifference? VersusScratch => PairedDifference.Of(Transfer, Scratch);
    }

    /// <summary>A bigger upstream against a smaller one at one shot count: transfer − transfer, paired by seed.</summary>
    public sealed record Comparison(string Axis, Point Bigger, Point Smaller)
    {
        public PairedDifference? Difference => PairedDifference.Of(Bigger.Transfer, Smaller.Transfer);

        /// <summary>"better", "worse" or "no clear difference", as the 95 % interval of the paired difference says.</summary>
        public string Verdict => Difference?.Interval95 switch
        {
            null => Difference is null ? "no pairs to compare" : "one seed, no interval",
            var (low, _) when low > 0 => "better",
            var (_, high) when high < 0 => "worse",
            _ => "no clear difference",
        };

        public string Sentence()
        {
            var d = Difference;
            var numbers = d is null ? "no seed finished in both"
                : $"{PairedDifference.Points(d.Mean)} points of top-1 (mean over {d.Count} seed{(d.Count == 1 ? "" : "s")} paired by seed" +
                  (d.Interval95 is null ? ")" : $", 95 % interval {d.IntervalText})");
            return $"{ShotsText(Bigger.Shots)}, {Axis}: {Bigger.Variant.Label} against {Smaller.Variant.Label}: {numbers}: {Verdict}.";
        }
    }

    public IReadOnlyList<ScaleStudy.Variant> Variants => Results.Select(r => r.Variant).ToList();

    /// <summary>The shot counts of the transfer tasks, ascending (all examples last).</summary>
    public IReadOnlyList<int?> Shots => Results.SelectMany(r => r.Spec.Tasks.Where(t => !t.FromScratch).Select(t => t.Shots))
        .Distinct().OrderBy(k => k ?? int.MaxValue).ToList();

    /// <summary>Every scratch result of the study (they run in its first run), by shot count.</summary>
    private IReadOnlyList<(int Seed, double Top1)> ScratchOf(int? shots) => Results.SelectMany(r => r.Run.Completed)
        .Where(c => c.Task.FromScratch && c.Task.Shots == shots).OrderBy(c => c.Task.Seed).Select(c => (c.Task.Seed, c.Test.Top1)).ToList();

    public Point PointOf(ScaleStudy.Variant variant, int? shots)
    {
        var run = Results.First(r => r.Variant == variant).Run;
        var runs = run.Completed.Where(c => !c.Task.FromScratch && c.Task.Shots == shots).OrderBy(c => c.Task.Seed).ToList();
        return new Point(variant, shots, runs.Select(c => (c.Task.Seed, c.Test.Top1)).ToList(), ScratchOf(shots))
        {
            MedianValidationTop1 = runs.Count > 0 && runs.All(c => c.Validation is not null) ? SeedSummary.Median(runs.Select(c => c.Validation!.Top1)) : null,
        };
    }

    /// <summary>Every point, by shot count, then variant in the study's order.</summary>
    public IReadOnlyList<Point> Points => Shots.SelectMany(k => Variants.Select(v => PointOf(v, k))).ToList();

    /// <summary>
    /// Per shot count: more data (the base architecture at its largest share against its smallest), a bigger model (the wide
    /// architecture against the base one on the same share), and the biggest upstream against the smallest, each once.
    /// </summary>
    public IReadOnlyList<Comparison> Comparisons()
    {
        var baseArch = Variants[0].Arch;
        var own = Variants.Where(v => v.Arch == baseArch).ToList();
        var wide = Variants.FirstOrDefault(v => v.Arch != baseArch);
        var pairs = new List<(string Axis, ScaleStudy.Variant Bigger, ScaleStudy.Variant Smaller)>();
        if (own.Count > 1) pairs.Add(("more upstream data", own[^1], own[0]));
        if (wide is not null) pairs.Add(("a bigger model", wide, Variants.LastOrDefault(v => v.Arch == baseArch && v.Fraction == wide.Fraction) ?? own[^1]));
        if (!pairs.Any(p => p.Bigger == Variants[^1] && p.Smaller == Variants[0])) pairs.Add(("the biggest upstream against the smallest", Variants[^1], Variants[0]));
        return Shots.SelectMany(k => pairs.Select(p => new Comparison(p.Axis, PointOf(p.Bigger, k), PointOf(p.Smaller, k)))).ToList();
    }

    private static string ShotsText(int? shots) => shots switch { 1 => "1 example per class", int k => $"{k} examples per class", null => "all examples" };

    private static string Pct(double? v) => v is double d ? (d * 100).ToString("F2", CultureInfo.InvariantCulture) + " %" : "failed";

    private static string Label(int? shots) => shots?.ToString(CultureInfo.InvariantCulture) ?? "all";

    private (ScaleStudy.Variant Variant, RunSpec Spec, RunCompleted Run) ResultOf(ScaleStudy.Variant v) => Results.First(r => r.Variant == v);

    private static string[] Cells(Point p, double upstreamTop1) =>
    [
        p.Variant.Arch, p.Variant.DataLabel, Pct(upstreamTop1), Label(p.Shots), string.Join(", ", p.Transfer.Select(t => t.Seed)), Pct(p.MedianTop1),
        Pct(p.ScratchMedianTop1), p.VersusScratch is { } d ? PairedDifference.Points(d.Mean) : "-", p.VersusScratch?.IntervalText ?? "-", p.VersusScratch?.Verdict ?? "-",
    ];

    private static readonly string[] Headers =
        ["upstream", "data", "upstream top-1", "examples/class", "seeds", "transfer (median)", "scratch (median)", "transfer − scratch (paired mean)", "95 % interval", "verdict"];

    public Table ToTable()
    {
        var table = new Table().Title(Markup.Escape("scale study: few-shot transfer test top-1 per upstream")).AddColumns(Headers);
        foreach (var p in Points) table.AddRow(Cells(p, ResultOf(p.Variant).Run.Backbone.UpstreamTest.Top1).Select(Markup.Escape).ToArray());
        return table;
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    private static object? PairedJson(PairedDifference? p) => p is null ? null : new
    {
        per_seed = p.PerSeed.Select(x => new { seed = x.Seed, points = x.Points }), n = p.Count, mean_points = p.Mean,
        sd_points = p.StandardDeviation, ci95_points = p.Interval95 is var (lo, hi) ? new[] { lo, hi } : null,
    };

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
                classes = first.Upstream.Data.Classes.Classes, steps = first.Upstream.Schedule.Steps, batch = first.Upstream.Schedule.BatchSize,
                base_lr_per_256 = first.Upstream.Schedule.BaseLrPer256, weight_decay = first.Upstream.Optimizer.WeightDecay, mixup = first.Upstream.Optimizer.MixUpAlpha,
            },
            finetune = new { rule = "bit-hyperrule", batch = first.FineTune.Recipe.BatchSize, base_lr = first.FineTune.Recipe.BaseLr, max_steps = first.FineTune.Recipe.MaxSteps,
                classes = first.Tasks.FirstOrDefault()?.Classes.Classes },
            variants = Results.Select(r => new
            {
                label = r.Variant.Label, architecture = r.Variant.Arch, data_fraction = r.Variant.Fraction, run = r.Run.RunId,
                upstream = new
                {
                    steps = r.Run.Backbone.Steps, final_train_loss = r.Run.Backbone.FinalLoss, seconds = r.Run.Backbone.Elapsed.TotalSeconds,
                    test = new { top1 = r.Run.Backbone.UpstreamTest.Top1, examples = r.Run.Backbone.UpstreamTest.Examples },
                    validation = r.Run.Backbone.Validation is { } v ? new { top1 = v.Top1, examples = v.Examples } : null, checkpoint = r.Run.Backbone.Checkpoint,
                },
                failed = r.Run.Failed.Select(f => new { task = f.Task.Name, reason = f.Reason }),
            }),
            scratch = Shots.Select(k => new { shots = k, per_seed = ScratchOf(k).Select(s => new { seed = s.Seed, top1 = s.Top1 }) }),
            points = Points.Select(p => new
            {
                variant = p.Variant.Label, architecture = p.Variant.Arch, data_fraction = p.Variant.Fraction, shots = p.Shots,
                median_top1 = p.MedianTop1, median_validation_top1 = p.MedianValidationTop1, scratch_median_top1 = p.ScratchMedianTop1, per_seed = p.Transfer.Select(t => new { seed = t.Seed, top1 = t.Top1 }),
                transfer_minus_scratch = PairedJson(p.VersusScratch), verdict = p.VersusScratch?.Verdict,
            }),
            comparisons = Comparisons().Select(c => new
            {
                shots = c.Bigger.Shots, axis = c.Axis, bigger = c.Bigger.Variant.Label, smaller = c.Smaller.Variant.Label,
                bigger_minus_smaller = PairedJson(c.Difference), verdict = c.Verdict, sentence = c.Sentence(),
            }),
            files = new { report = MarkdownFile, plot = PlotFile },
        };
    }

    public string Markdown()
    {
        var first = Results[0].Spec;
        var md = new StringBuilder();
        md.AppendLine($"# BitActors scale study — {StudyId}").AppendLine();
        md.AppendLine($"`{Command}`: wall time {Wall.TotalSeconds:F0} s on {Environment.ProcessorCount} cores ({first.Device}).").AppendLine();
        md.AppendLine($"Each upstream is trained on fashion-mnist classes [{string.Join(",", first.Upstream.Data.Classes.Classes)}] for the same " +
            $"**{first.Upstream.Schedule.Steps} steps** at batch {first.Upstream.Schedule.BatchSize} (fixed compute, more data): " +
            string.Join("; ", Results.Select(r => $"{r.Variant.Arch} on {r.Variant.DataLabel} of the classes' training images")) +
            $" (nested shares: each smaller one is part of the larger). Each backbone is fine-tuned with the BiT-HyperRule on classes " +
            $"[{string.Join(",", first.Tasks.FirstOrDefault()?.Classes.Classes ?? [])}] with {string.Join(", ", Shots.Select(Label))} examples per class, " +
            $"seeds {string.Join(", ", first.Tasks.Select(t => t.Seed).Distinct())} (the seed draws the examples). The from-scratch tasks ran once, " +
            $"in run `{Results[0].Run.RunId}` ({Results[0].Variant.Arch}); every transfer is paired with them by seed (95 % Student-t interval).").AppendLine();
        md.AppendLine($"| {string.Join(" | ", Headers)} |");
        md.AppendLine($"|{string.Concat(Headers.Select(_ => "---|"))}");
        foreach (var p in Points) md.AppendLine($"| {string.Join(" | ", Cells(p, ResultOf(p.Variant).Run.Backbone.UpstreamTest.Top1))} |");
        md.AppendLine().AppendLine($"![transfer − scratch per upstream and examples per class]({PlotFile})").AppendLine();
        foreach (var c in Comparisons()) md.AppendLine($"- {c.Sentence()}");
        foreach (var (label, f) in Results.SelectMany(r => r.Run.Failed.Select(f => (r.Variant.Label, f))))
            md.AppendLine($"- {label}: {f.Task.Name} failed: {f.Reason}");
        md.AppendLine().AppendLine($"Top-1 is on the test images, reported and not used to choose anything; the validation hold-out's top-1 is in `{ResultsFile}` too. Every number is in `{ResultsFile}`; each upstream's run folder holds its checkpoints and metrics.");
        return md.ToString();
    }

    public string Write(string folder)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, ResultsFile), JsonSerializer.Serialize(ResultsJson(), JsonOptions));
        File.WriteAllText(Path.Combine(folder, MarkdownFile), Markdown());
        ScaleStudyPlot.Write(Path.Combine(folder, PlotFile), this);
        return folder;
    }
}
