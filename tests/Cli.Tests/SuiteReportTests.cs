using System.Text.Json;
using BitActors.Actors;
using BitActors.Cli.Reports;
using BitActors.Model.Checkpoints;
using BitActors.Model.Training;
using BitActors.Streams.Pipelines;
using SkiaSharp;

namespace BitActors.Cli.Tests;

/// <summary>
/// The report of a run with several datasets: per dataset × shots the transfer and scratch medians, the paired
/// transfer − scratch interval, validation top-1 where present, the suite mean, a plot and results.json in the run folder.
/// </summary>
public sealed class SuiteReportTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("bitactors-suite-report");

    public void Dispose() => _folder.Delete(true);

    private static FineTuneCompleted Task(string dataset, int classes, int? shots, bool scratch, int seed, double top1, double? validation = null) =>
        new("r", new FineTuneTask($"{dataset}-{(scratch ? "scratch" : "transfer")}-{shots?.ToString() ?? "all"}-seed{seed}", dataset, ClassSubset.Range(0, classes), shots, seed, scratch),
            "Tiny", 10, 4, new EvaluationResult(top1, 1, 0.5, 20, [], []), new CheckpointFiles.Saved($"/runs/r/{dataset}-{seed}.safetensors", 10, new string('a', 64), "safetensors"),
            new Dictionary<string, object>(), TimeSpan.FromSeconds(1))
        { Validation = validation is double v ? new EvaluationResult(v, 1, 0.5, 5, [], []) : null };

    /// <summary>Two datasets: pets at 1 and 5 shots, cars at 1 shot; three seeds, transfer and scratch (cars without validation).</summary>
    private static List<FineTuneCompleted> Completed() =>
    [
        .. new[] { 0, 1, 2 }.SelectMany(s => new[]
        {
            Task("pets", 4, 1, false, s, 0.50 + 0.1 * s, 0.4 + 0.1 * s), Task("pets", 4, 1, true, s, 0.30 + 0.1 * s, 0.3),
            Task("pets", 4, 5, false, s, 0.80 + 0.01 * s, 0.7), Task("pets", 4, 5, true, s, 0.60, 0.5),
            Task("cars", 3, 1, false, s, 0.40, null), Task("cars", 3, 1, true, s, 0.45 + 0.01 * s, null),
        }),
    ];

    [Fact]
    public void EachDatasetAndShotsGetsTheirMediansThePairedDifferenceAndTheSuiteMean()
    {
        var report = SuiteReport.Of(Completed());

        Assert.Equal([("pets", (int?)1), ("pets", 5), ("cars", 1)], report.Rows.Select(r => (r.Dataset, r.Shots)));
        var pets1 = report.Rows[0];
        Assert.Equal(0.60, pets1.Transfer!.MedianTop1, 9);
        Assert.Equal(0.40, pets1.Scratch!.MedianTop1, 9);
        Assert.Equal(0.50, pets1.Transfer.MedianValidationTop1!.Value, 9);
        Assert.Equal(20, pets1.Difference!.Mean, 6);
        Assert.Equal("transfer ahead", report.Rows[1].Difference!.Verdict);
        var cars = report.Rows[2];
        Assert.Null(cars.Transfer!.MedianValidationTop1);
        Assert.Equal(-6, cars.Difference!.Mean, 6);
        Assert.Equal("scratch ahead", cars.Difference.Verdict);

        // Suite mean at 1 shot: (60 + 40) / 2; at 5 shots only pets; overall over the three rows.
        Assert.Equal([(1, false, 0.50, 2), (5, false, 0.81, 1), ((int?)null, true, Math.Round((0.60 + 0.81 + 0.40) / 3, 9), 3)],
            report.Means.Select(m => (m.Shots, m.Overall, Math.Round(m.TransferTop1, 9), m.Rows)));
    }

    [Fact]
    public void ASuiteRunsFolderHoldsTheSuiteTableResultsJsonAndAPlot()
    {
        var journal = new RunJournal();
        foreach (var c in Completed()) journal.Record(c);

        RunFolder.Write(_folder.FullName, "r", journal, new RunFolder.Ending(), TimeSpan.FromSeconds(9), "bitactors run --dataset pets,cars", suite: true);

        var suite = Path.Combine(_folder.FullName, SuiteReport.Folder);
        var md = File.ReadAllText(Path.Combine(suite, SuiteReport.ReportFile));
        Assert.Contains("| pets | 4 | 1 | 3 | 60.00 % | 40.00 % | +20.00 |", md);
        Assert.Contains("| cars | 3 | 1 | 3 | 40.00 % | 46.00 % | -6.00 |", md);
        Assert.Contains("| **overall** | 3 | 60.33 % |", md);
        Assert.Contains("| pets-transfer-1-seed2 | pets | 1 | backbone | 2 | 10 | 4 | 70.00 % | 60.00 % |", md);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(suite, SuiteReport.ResultsFile)));
        var rows = json.RootElement.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(["pets", "pets", "cars"], rows.Select(r => r.GetProperty("dataset").GetString()));
        Assert.Equal(0.6, rows[0].GetProperty("transfer").GetProperty("median_top1").GetDouble(), 9);
        Assert.Equal(2, rows[0].GetProperty("difference").GetProperty("interval95").GetArrayLength());
        Assert.Equal(0.6, rows[0].GetProperty("transfer").GetProperty("runs")[2].GetProperty("validation_top1").GetDouble(), 9);
        Assert.Equal("overall", json.RootElement.GetProperty("suite_mean")[2].GetProperty("shots").GetString());
        using (var image = SKBitmap.Decode(Path.Combine(suite, SuiteReport.PlotFile)))
            Assert.True(image is { Width: 900, Height: 560 }, "suite.png is not a 900×560 image");
        Assert.Contains($"`{SuiteReport.Folder}/{SuiteReport.ReportFile}`", File.ReadAllText(Path.Combine(_folder.FullName, RunFolder.SummaryFile)));
    }

    [Fact]
    public void AVtab1kDatasetHasItsOwnRowAndSuiteMeanLabelledByTheProtocol()
    {
        var vtab = new[] { 0, 1, 2 }.Select(s => Task("dtd", 5, null, false, s, 0.3 + 0.1 * s, 0.2) with
        {
            Task = new FineTuneTask($"dtd-transfer-vtab1k-seed{s}", "dtd", ClassSubset.Range(0, 5), null, s, false, "dtd-transfer-vtab1k") { Vtab1k = true },
        });
        var report = SuiteReport.Of(Completed().Concat(vtab));

        var row = report.Rows.Single(r => r.Dataset == "dtd");
        Assert.Equal(("vtab-1k", 0.4), (row.Label, Math.Round(row.Transfer!.MedianTop1, 9)));
        Assert.Contains(report.Means, m => m is { Label: "vtab-1k", Rows: 1 } && Math.Abs(m.TransferTop1 - 0.4) < 1e-9);
        Assert.Contains("| dtd | 5 | vtab-1k | 3 | 40.00 % | - |", report.Markdown("r"));
    }

    [Fact]
    public void ARunOfOneDatasetHasNoSuiteFolder()
    {
        var journal = new RunJournal();
        journal.Record(Task("pets", 4, 1, false, 0, 0.5));
        RunFolder.Write(_folder.FullName, "r", journal, new RunFolder.Ending(), TimeSpan.FromSeconds(1), "bitactors run --dataset pets");
        Assert.False(Directory.Exists(Path.Combine(_folder.FullName, SuiteReport.Folder)));
    }
}
