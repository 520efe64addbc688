using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using BitActors.Actors;
using Spectre.Console;

namespace BitActors.Cli.Demo;

/// <summary>
/// The demo's results: transfer against scratch per shot count (medians over seeds), as a console table,
/// <c>report.md</c>, <c>results.json</c> (every number the table shows, with seeds, steps and timings) and
/// <c>accuracy.png</c> (test top-1 against examples per class) in the run's folder. <c>References</c>: published
/// results on the same task, shown beside the transfer result (<c>demo --full</c>).
/// </summary>
public sealed record DemoReport(RunCompleted Run, RunSpec Spec, string Dataset, IReadOnlyList<string> ClassNames, TimeSpan Wall,
    IReadOnlyDictionary<string, int> EventsByType, string Command = "bitactors demo", IReadOnlyList<(string Model, double Top1)>? References = null)
{
    public const string ResultsFile = "results.json";
    public const string MarkdownFile = "report.md";
    public const string PlotFile = "accuracy.png";

    /// <summary>One arm (transfer or scratch) at one shot count: every seed's run and the median.</summary>
    public sealed record Arm(string Group, IReadOnlyList<FineTuneCompleted> Runs)
    {
        public double MedianTop1 => SeedSummary.Median(Runs.Select(r => r.Test.Top1));
        public double MinTop1 => Runs.Min(r => r.Test.Top1);
        public double MaxTop1 => Runs.Max(r => r.Test.Top1);
        /// <summary>The median validation top-1 (what settings are chosen on); null when a run has none.</summary>
        public double? MedianValidationTop1 => Runs.All(r => r.Validation is not null) ? SeedSummary.Median(Runs.Select(r => r.Validation!.Top1)) : null;
    }

    /// <summary>A row of the table: one shot count (null = all examples), both arms where they finished.</summary>
    public sealed record Row(int? Shots, int TrainExamples, int Steps, Arm? Transfer, Arm? Scratch)
    {
        public double ExamplesPerClass(int classes) => Shots ?? TrainExamples / (double)classes;
        public double? DifferencePoints => Transfer is null || Scratch is null ? null : (Transfer.MedianTop1 - Scratch.MedianTop1) * 100;
        /// <summary>Transfer − scratch paired by seed, with its 95 % interval; null without both arms.</summary>
        public PairedDifference? Paired => Transfer is null || Scratch is null ? null
            : PairedDifference.Of(Transfer.Runs.Select(r => (r.Task.Seed, r.Test.Top1)), Scratch.Runs.Select(r => (r.Task.Seed, r.Test.Top1)));
        public string Label => Shots is int k ? k.ToString(CultureInfo.InvariantCulture) : "all";
    }

    private int ClassCount => Spec.Tasks.FirstOrDefault()?.Classes.Count ?? Run.Completed.FirstOrDefault()?.Task.Classes.Count ?? 1;

    /// <summary>Rows by shot count (few-shot ascending, then all examples).</summary>
    public IReadOnlyList<Row> Rows => Run.Completed
        .GroupBy(c => c.Task.Shots)
        .OrderBy(g => g.Key ?? int.MaxValue)
        .Select(g =>
        {
            Arm? ArmOf(bool scratch)
            {
                var runs = g.Where(c => c.Task.FromScratch == scratch).OrderBy(c => c.Task.Seed).ToList();
                return runs.Count == 0 ? null : new Arm(runs[0].Task.GroupName, runs);
            }
            return new Row(g.Key, g.Max(c => c.Examples), g.Max(c => c.Steps), ArmOf(false), ArmOf(true));
        }).ToList();

    private IEnumerable<FineTuneCompleted> Tasks => Run.Completed.OrderBy(c => c.Task.Shots ?? int.MaxValue).ThenBy(c => c.Task.FromScratch).ThenBy(c => c.Task.Seed);

    /// <summary>"failed" when the run planned that arm at that shot count, "-" when it did not (e.g. no scratch in <c>demo --full</c>).</summary>
    private string ScratchMissing(Row r) => Spec.Tasks.Any(t => t.FromScratch && t.Shots == r.Shots) ? "failed" : "-";

    private string TransferMissing(Row r) => Spec.Tasks.Any(t => !t.FromScratch && t.Shots == r.Shots) ? "failed" : "-";

    private static string Pct(double v) => (v * 100).ToString("F2", CultureInfo.InvariantCulture) + " %";

    private static string Points(double? v) => v is double d ? d.ToString("+0.00;-0.00", CultureInfo.InvariantCulture) : "-";

    private static string Seeds(Arm? arm) => arm is null ? "-" : string.Join(", ", arm.Runs.Select(r => r.Task.Seed));

    private static string PerSeed(Arm? arm) => arm is null ? "-" : string.Join(" / ", arm.Runs.Select(r => (r.Test.Top1 * 100).ToString("F1", CultureInfo.InvariantCulture)));

    /// <summary>The summary: medians per shot count, transfer against scratch.</summary>
    public Table ToTable()
    {
        var table = new Table().Title(Markup.Escape($"{Dataset} classes {ClassList(Spec.Tasks.FirstOrDefault()?.Classes.Classes)}: test top-1, median over seeds")).AddColumns(
            "examples/class", "train", "steps", "seeds", "transfer", "scratch", "Δ points (paired mean)", "95 % interval", "transfer per seed", "scratch per seed");
        foreach (var r in Rows)
            table.AddRow(r.Label, r.TrainExamples.ToString(CultureInfo.InvariantCulture), r.Steps.ToString(CultureInfo.InvariantCulture),
                Seeds(r.Transfer ?? r.Scratch), r.Transfer is null ? TransferMissing(r) : Pct(r.Transfer.MedianTop1), r.Scratch is null ? ScratchMissing(r) : Pct(r.Scratch.MedianTop1),
                Points(r.Paired?.Mean), Markup.Escape(r.Paired?.IntervalText ?? "-"), PerSeed(r.Transfer), PerSeed(r.Scratch));
        foreach (var f in Run.Failed)
            table.AddRow(Markup.Escape(f.Task.Name), "-", "-", f.Task.Seed.ToString(CultureInfo.InvariantCulture), "failed", "", "", "", Markup.Escape(f.Reason), "");
        return table;
    }

    /// <summary>Transfer against scratch per shot count, one line each.</summary>
    public IEnumerable<string> Comparisons()
    {
        foreach (var r in Rows)
        {
            if (r.Transfer is not null && References is { Count: > 0 })
                yield return $"all {r.TrainExamples:N0} examples, {ClassCount} classes: transfer {Pct(r.Transfer.MedianTop1)} after {r.Steps} steps " +
                    $"(published: {string.Join(", ", References.Select(x => $"{x.Model} {Pct(x.Top1)}"))})";
            if (r.Transfer is null || r.Scratch is null) continue;
            var shots = r.Shots is int k ? (k == 1 ? "1 example per class" : $"{k} examples per class") : $"all {r.TrainExamples:N0} examples";
            var median = r.Transfer.Runs.Count > 1 ? $" (median of {r.Transfer.Runs.Count} seeds)" : "";
            var paired = r.Paired is { } p
                ? $"; paired by seed, transfer − scratch {Points(p.Mean)} points" + (p.Interval95 is null ? "" : $", 95 % interval {p.IntervalText} over {p.Count} seeds") + $": {p.Verdict}"
                : "";
            yield return $"{shots}{median}: transfer {Pct(r.Transfer.MedianTop1)} vs scratch {Pct(r.Scratch.MedianTop1)}{paired}";
        }
    }

    /// <summary>Whether a task ran its HyperRule schedule squeezed into fewer steps (the recipe's <c>max-steps</c>).</summary>
    private bool Squeezed => Run.Completed.Any(c => c.HyperParameters.TryGetValue("steps", out var s) && c.HyperParameters.TryGetValue("hyperrule_steps", out var h)
        && Convert.ToInt64(s, CultureInfo.InvariantCulture) < Convert.ToInt64(h, CultureInfo.InvariantCulture));

    /// <summary>The fine-tune recipe as this run used it.</summary>
    private string Recipe()
    {
        var r = Spec.FineTune.Recipe;
        var mixup = Model.Recipe.HyperRule.MixUpAlpha.ToString(CultureInfo.InvariantCulture);
        return $"lr {r.BaseLr.ToString(CultureInfo.InvariantCulture)}" + (r.BaseLrFor(true) != r.BaseLr ? $" (from scratch {r.BaseLrFor(true).ToString(CultureInfo.InvariantCulture)})" : "") + $", batch {r.BatchSize}, momentum {Model.Recipe.HyperRule.Momentum.ToString(CultureInfo.InvariantCulture)}, " +
            $"weight decay {Model.Recipe.HyperRule.WeightDecay.ToString(CultureInfo.InvariantCulture)}, MixUp α {mixup} from {Model.Recipe.HyperRule.MixUpFromExamples:N0} examples" +
            (r.MaxSteps > 0 ? $", at most {r.MaxSteps} steps" + (Squeezed ? ", the schedule squeezed where it was longer" : "") : "");
    }

    private static string ClassList(IReadOnlyList<int>? classes) => classes is null ? "?" : $"[{string.Join(",", classes)}]";

    private string Names(IEnumerable<int> classes) => string.Join(", ", classes.Select(c => c < ClassNames.Count ? $"{c} {ClassNames[c]}" : c.ToString(CultureInfo.InvariantCulture)));

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Everything the tables and the plot show, and how each number was made.</summary>
    public object Results()
    {
        var up = Spec.Upstream;
        var ft = Spec.FineTune;
        object ArmJson(Arm? arm) => arm is null ? null! : new
        {
            group = arm.Group,
            median_top1 = arm.MedianTop1,
            min_top1 = arm.MinTop1,
            max_top1 = arm.MaxTop1,
            median_validation_top1 = arm.MedianValidationTop1,
            per_seed = arm.Runs.Select(c => new { seed = c.Task.Seed, task = c.Task.Name, top1 = c.Test.Top1, top5 = c.Test.Top5, loss = c.Test.Loss,
                validation_top1 = c.Validation?.Top1, steps = c.Steps, seconds = c.Elapsed.TotalSeconds }),
        };
        return new
        {
            run = Run.RunId,
            command = Command,
            dataset = Dataset,
            wall_seconds = Wall.TotalSeconds,
            validation_fraction = Spec.FineTune.Data.ValidationFraction,
            machine = new { processors = Environment.ProcessorCount, device = Spec.Device, os = System.Runtime.InteropServices.RuntimeInformation.OSDescription },
            upstream = new
            {
                architecture = Run.Backbone.Arch, classes = up.Data.Classes.Classes, steps = Run.Backbone.Steps, batch = up.Schedule.BatchSize,
                base_lr = up.Schedule.BaseLrPer256 * up.Schedule.BatchSize / 256.0, base_lr_per_256 = up.Schedule.BaseLrPer256, warmup_fraction = up.Schedule.WarmupFraction,
                decay_epochs = up.Schedule.DecayEpochs, total_epochs = up.Schedule.TotalEpochs, weight_decay = up.Optimizer.WeightDecay, mixup = up.Optimizer.MixUpAlpha,
                precrop = up.Data.Augment.Precrop, crop = up.Data.Augment.Crop, seed = up.Seed,
                final_train_loss = Run.Backbone.FinalLoss, final_train_top1 = Run.Backbone.FinalAccuracy,
                test = new { top1 = Run.Backbone.UpstreamTest.Top1, top5 = Run.Backbone.UpstreamTest.Top5, loss = Run.Backbone.UpstreamTest.Loss, examples = Run.Backbone.UpstreamTest.Examples },
                validation = Run.Backbone.Validation is { } uv ? new { top1 = uv.Top1, top5 = uv.Top5, loss = uv.Loss, examples = uv.Examples } : null,
                data_fraction = up.Data.Fraction,
                seconds = Run.Backbone.Elapsed.TotalSeconds, checkpoint = Run.Backbone.Checkpoint,
            },
            finetune = new
            {
                rule = "bit-hyperrule", batch = ft.Recipe.BatchSize, base_lr = ft.Recipe.BaseLr, scratch_base_lr = ft.Recipe.BaseLrFor(fromScratch: true), micro_batch = ft.Recipe.MicroBatch, max_steps = ft.Recipe.MaxSteps,
                precrop = ft.Data.Augment?.Precrop, crop = ft.Data.Augment?.Crop,
            },
            table = Rows.Select(r => new
            {
                examples_per_class = r.Shots is int k ? k.ToString(CultureInfo.InvariantCulture) : "all",
                shots = r.Shots, train_examples = r.TrainExamples, steps = r.Steps,
                transfer = ArmJson(r.Transfer), scratch = ArmJson(r.Scratch), transfer_minus_scratch_points = r.DifferencePoints,
                paired = r.Paired is not { } p ? null : new
                {
                    per_seed = p.PerSeed.Select(x => new { seed = x.Seed, points = x.Points }), n = p.Count, mean_points = p.Mean, median_points = p.Median,
                    sd_points = p.StandardDeviation, ci95_points = p.Interval95 is var (lo, hi) ? new[] { lo, hi } : null, verdict = p.Verdict,
                },
            }),
            tasks = Tasks.Select(c => new
            {
                task = c.Task.Name, group = c.Task.GroupName, init = c.Task.FromScratch ? "scratch" : "backbone", classes = c.Task.Classes.Classes,
                shots = c.Task.Shots, seed = c.Task.Seed, examples = c.Examples, steps = c.Steps,
                test = new { top1 = c.Test.Top1, top5 = c.Test.Top5, loss = c.Test.Loss, examples = c.Test.Examples, per_class_top1 = c.Test.PerClassTop1 },
                validation = c.Validation is { } v ? new { top1 = v.Top1, top5 = v.Top5, loss = v.Loss, examples = v.Examples } : null,
                seconds = c.Elapsed.TotalSeconds, checkpoint = c.Checkpoint, hyperparameters = c.HyperParameters,
            }),
            failed = Run.Failed.Select(f => new { task = f.Task.Name, seed = f.Task.Seed, reason = f.Reason }),
            references = References?.Select(x => new { model = x.Model, top1 = x.Top1 }),
            model_events = EventsByType,
            files = new { report = MarkdownFile, plot = PlotFile },
        };
    }

    public string Markdown()
    {
        var md = new StringBuilder();
        var up = Run.Backbone;
        var downstream = Spec.Tasks.FirstOrDefault()?.Classes.Classes ?? [];
        md.AppendLine($"# BitActors demo — run {Run.RunId}").AppendLine();
        md.AppendLine($"`{Command}`: wall time {Wall.TotalSeconds:F0} s on {Environment.ProcessorCount} cores ({Spec.Device}).").AppendLine();
        if (up.Steps > 0)
            md.AppendLine($"**Upstream**: {up.Arch} on {Dataset} classes {Names(Spec.Upstream.Data.Classes.Classes)}; {up.Steps} steps at batch {Spec.Upstream.Schedule.BatchSize}; " +
                $"test top-1 {Pct(up.UpstreamTest.Top1)} on its classes ({up.UpstreamTest.Examples:N0} images)" +
                (up.Validation is { } uv ? $", validation top-1 {Pct(uv.Top1)} ({uv.Examples:N0} held-out training images)" : "") + $"; {up.Elapsed.TotalSeconds:F0} s.").AppendLine();
        else
            md.AppendLine($"**Backbone**: given, `{up.Checkpoint.Path}` ({up.Arch}, sha256 {up.Checkpoint.Sha256[..Math.Min(12, up.Checkpoint.Sha256.Length)]}); no upstream training in this run.").AppendLine();
        bool scratch = Spec.Tasks.Any(t => t.FromScratch);
        md.AppendLine($"**Downstream**: classes {Names(downstream)}, evaluated on all their test images; every task fine-tuned with the BiT-HyperRule " +
            $"({Recipe()}) " + (scratch ? "from the backbone (zero head) and from scratch, " + (Spec.FineTune.Recipe.BaseLrFor(true) == Spec.FineTune.Recipe.BaseLr ? "the same rule for both." : "the same rule but for each arm's own learning rate.") : "from the backbone (zero head).")).AppendLine();
        md.AppendLine("| examples per class | train examples | steps | seeds | transfer (median) | scratch (median) | transfer − scratch (paired mean) | 95 % interval | transfer per seed | scratch per seed |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in Rows)
            md.AppendLine($"| {r.Label} | {r.TrainExamples:N0} | {r.Steps} | {Seeds(r.Transfer ?? r.Scratch)} | {(r.Transfer is null ? TransferMissing(r) : Pct(r.Transfer.MedianTop1))} | " +
                $"{(r.Scratch is null ? ScratchMissing(r) : Pct(r.Scratch.MedianTop1))} | {(r.Paired is null ? "-" : $"{Points(r.Paired.Mean)} points")} | {r.Paired?.IntervalText ?? "-"} | {PerSeed(r.Transfer)} | {PerSeed(r.Scratch)} |");
        md.AppendLine().AppendLine($"![test top-1 against examples per class]({PlotFile})").AppendLine();
        foreach (var line in Comparisons()) md.AppendLine($"- {line}");
        if (References is { Count: > 0 })
            md.AppendLine().AppendLine("Published references are from the benchmark table of zalandoresearch/fashion-mnist (28×28 inputs, trained from scratch on " +
                $"all 10 classes); BitActors' figure is a {Run.Backbone.Arch} model at {Spec.FineTune.Data.Augment?.Crop}×{Spec.FineTune.Data.Augment?.Crop} on {Spec.Device} " +
                (Squeezed ? $"after the HyperRule's schedule squeezed into at most {Spec.FineTune.Recipe.MaxSteps} steps." : "after the HyperRule's full schedule."));
        md.AppendLine().AppendLine("## Every task").AppendLine();
        md.AppendLine("| task | init | seed | train examples | steps | validation top-1 | test top-1 | test top-5 | test loss | time |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var c in Tasks)
            md.AppendLine($"| {c.Task.Name} | {(c.Task.FromScratch ? "scratch" : "backbone")} | {c.Task.Seed} | {c.Examples:N0} | {c.Steps} | " +
                $"{(c.Validation is { } v ? $"{Pct(v.Top1)} ({v.Examples:N0})" : "-")} | {Pct(c.Test.Top1)} | {Pct(c.Test.Top5)} | {c.Test.Loss.ToString("F3", CultureInfo.InvariantCulture)} | {c.Elapsed.TotalSeconds:F0} s |");
        foreach (var f in Run.Failed) md.AppendLine($"| {f.Task.Name} | {(f.Task.FromScratch ? "scratch" : "backbone")} | {f.Task.Seed} | - | - | - | failed: {f.Reason} | | | |");
        if (Spec.FineTune.Data.ValidationFraction > 0)
            md.AppendLine().AppendLine($"Validation: {Spec.FineTune.Data.ValidationFraction:P0} of each training split is held out (a fixed hash of the record's index), " +
                "never drawn or trained on: it is there to choose settings on, so that test is only reported.");
        md.AppendLine().AppendLine($"Model events on bit.models: {string.Join(", ", EventsByType.Select(e => $"{e.Value} × {e.Key}"))}. Every number above is in `{ResultsFile}`.");
        return md.ToString();
    }

    /// <summary>Writes results.json, report.md and accuracy.png into <paramref name="folder"/>; returns the folder.</summary>
    public string Write(string folder)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, ResultsFile), JsonSerializer.Serialize(Results(), JsonOptions));
        File.WriteAllText(Path.Combine(folder, MarkdownFile), Markdown());
        DemoPlot.Write(Path.Combine(folder, PlotFile), Rows, ClassCount, $"{Dataset} classes {ClassList(Spec.Tasks.FirstOrDefault()?.Classes.Classes)}: transfer vs scratch");
        return folder;
    }
}
