using System.Globalization;
using System.Text;
using BitActors.Actors;
using BitActors.Actors.Telemetry;
using BitActors.Cli.Terminal;
using Serilog;

namespace BitActors.Cli.Reports;

/// <summary>
/// Each run's folder (<c>output-dir/&lt;run-id&gt;/</c>): <c>metrics.jsonl</c>, its TensorBoard event file and <c>log.json</c> as the run goes,
/// <c>checkpoints/</c>, and at the end <c>plots/{loss,lr,accuracy}.png</c> and <c>summary.md</c>, whether the
/// run completed, stopped or failed.
/// </summary>
public static class RunFolder
{
    public const string SummaryFile = "summary.md";

    /// <summary>How a run ended: <c>Stopped</c> or <c>Failure</c> set when it did not complete.</summary>
    public sealed record Ending(RunStopped? Stopped = null, string? Failure = null);

    /// <summary>
    /// Writes the plots and the summary; a plot that cannot be drawn is logged and the summary still written. With
    /// <paramref name="suite"/> (a run of several datasets) also the <see cref="SuiteReport"/> of the tasks completed.
    /// </summary>
    public static string Write(string folder, string runId, RunJournal journal, Ending ending, TimeSpan wall, string command, bool suite = false)
    {
        Directory.CreateDirectory(folder);
        var metrics = MetricsLog.Read(Path.Combine(folder, MetricsLog.File));
        IReadOnlyList<string> plots = [];
        try
        {
            plots = RunPlots.Write(folder, RunPlots.Charts(metrics));
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or TypeInitializationException or DllNotFoundException)
        {
            Log.Warning("plots not written: {Message}", e.Message);
        }
        var files = plots.Select(p => Path.GetRelativePath(folder, p)).ToList();
        if (suite && journal.Completed is { Count: > 0 } completed)
        {
            SuiteReport.Of(completed).Write(folder, runId);
            files.Add($"{SuiteReport.Folder}/{SuiteReport.ReportFile}");
            files.Add($"{SuiteReport.Folder}/{SuiteReport.ResultsFile}");
        }
        var path = Path.Combine(folder, SummaryFile);
        File.WriteAllText(path, Summary(runId, journal, ending, wall, command, metrics, files));
        return path;
    }

    /// <summary>Per-class test top-1 of every task, the classes by dataset id and name (from the model's metadata); small tasks only.</summary>
    private static void PerClass(StringBuilder md, IReadOnlyList<FineTuneCompleted> completed)
    {
        var named = completed.Where(c => c.Checkpoint.Metadata?.ClassNames is not null && c.Test.PerClassTop1.Length == c.Task.Classes.Count)
            .OrderBy(c => c.Task.Name, StringComparer.Ordinal).ToList();
        var classes = named.SelectMany(c => c.Task.Classes.Classes.Select((id, i) => (Id: id, Name: c.Checkpoint.Metadata!.ClassNames![i]))).Distinct().OrderBy(c => c.Id).ToList();
        if (named.Count == 0 || classes.Count > 50 || named.Count > 12) return;
        md.AppendLine().AppendLine("## Per-class test top-1").AppendLine();
        md.AppendLine($"| class | {string.Join(" | ", named.Select(c => c.Task.Name))} |");
        md.AppendLine($"|---|{string.Concat(named.Select(_ => "---:|"))}");
        foreach (var (id, name) in classes)
            md.AppendLine($"| {id} {name.Replace("|", "\\|")} | " + string.Join(" | ", named.Select(c =>
            {
                int local = c.Task.Classes.Classes.ToList().IndexOf(id);
                return local < 0 ? "" : (c.Test.PerClassTop1[local] * 100).ToString("F1", CultureInfo.InvariantCulture) + " %";
            })) + " |");
    }

    public static string Summary(string runId, RunJournal journal, Ending ending, TimeSpan wall, string command,
        IReadOnlyList<MetricsLine> metrics, IReadOnlyList<string> plots)
    {
        static string Pct(double v) => double.IsFinite(v) ? (v * 100).ToString("F2", CultureInfo.InvariantCulture) + " %" : "-";
        var md = new StringBuilder();
        md.AppendLine($"# Run {runId}").AppendLine();
        md.AppendLine(ending switch
        {
            { Stopped: { Checkpoint: null } s } => $"- outcome: **stopped** ({s.Reason}) before any training; nothing to resume from",
            { Stopped: { BackboneFinished: true } s } => $"- outcome: **stopped** ({s.Reason}) after the backbone was finished: `{s.Checkpoint}` (fine-tune it with `run --backbone`)",
            { Stopped: { } s } => $"- outcome: **stopped** ({s.Reason}) at step {s.Step}; resume with `--resume {s.Checkpoint}`",
            { Failure: { } reason } => $"- outcome: **failed**: {reason}",
            _ => "- outcome: **completed**",
        });
        md.AppendLine($"- command: `{command}`");
        md.AppendLine($"- wall time: {wall.TotalSeconds.ToString("F0", CultureInfo.InvariantCulture)} s");
        if (journal.Phase is { } phase) md.AppendLine($"- last upstream phase: {phase}");
        if (journal.Backbone is { } b)
            md.AppendLine(b.Steps == 0
                ? $"- backbone (given): {b.Arch}, `{b.Checkpoint.Path}` ({b.Checkpoint.Format}, sha256 `{b.Checkpoint.Sha256}`)"
                : $"- backbone: {b.Arch}, {b.Steps} upstream steps, test top-1 {Pct(b.UpstreamTest.Top1)} on {b.UpstreamTest.Examples} images, " +
                  $"`{b.Checkpoint.Path}` (sha256 `{b.Checkpoint.Sha256}`)");
        var completed = journal.Completed;
        if (completed.Count > 0)
        {
            md.AppendLine().AppendLine("## Tasks").AppendLine();
            md.AppendLine("| task | init | shots | seed | examples | steps | test top-1 | test top-5 | checkpoint | sha256 |");
            md.AppendLine("|---|---|---|---|---:|---:|---:|---:|---|---|");
            foreach (var c in completed.OrderBy(c => c.Task.Name, StringComparer.Ordinal))
                md.AppendLine($"| {c.Task.Name} | {(c.Task.FromScratch ? "scratch" : "backbone")} | {c.Task.Shots?.ToString(CultureInfo.InvariantCulture) ?? "all"} | " +
                    $"{c.Task.Seed} | {c.Examples} | {c.Steps} | {Pct(c.Test.Top1)} | {Pct(c.Test.Top5)} | `{Path.GetFileName(c.Checkpoint.Path)}` | `{c.Checkpoint.Sha256[..12]}…` |");
        }
        PerClass(md, completed);
        var failed = journal.Failed;
        if (failed.Count > 0)
        {
            md.AppendLine().AppendLine("## Failed tasks").AppendLine();
            md.AppendLine("| task | reason |").AppendLine("|---|---|");
            foreach (var f in failed) md.AppendLine($"| {f.Task.Name} | {f.Reason.Replace("|", "\\|")} |");
        }
        md.AppendLine().AppendLine("## Files").AppendLine();
        md.AppendLine($"- `{MetricsLog.File}`: {metrics.Count(m => !m.IsTest)} progress lines, {metrics.Count(m => m.IsTest)} test results");
        md.AppendLine($"- `{MetricsWriter.EventFilePrefix}*`: the same numbers for TensorBoard (`tensorboard --logdir .`)");
        foreach (var p in plots) md.AppendLine($"- `{p}`");
        md.AppendLine($"- `{Logging.RunLogFile}`: the run's log, one JSON event per line");
        md.AppendLine("- `checkpoints/`: resumable upstream checkpoints, the backbone and every task's model, each with a `.sha256`");
        return md.ToString();
    }
}
