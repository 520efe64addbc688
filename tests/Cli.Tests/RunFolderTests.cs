using Akka.Actor;
using BitActors.Actors;
using BitActors.Actors.Telemetry;
using BitActors.Actors.Training;
using BitActors.Cli.Terminal;
using BitActors.Cli.Reports;
using BitActors.Model.Checkpoints;
using BitActors.Model.Training;
using BitActors.Streams.Pipelines;
using SkiaSharp;

namespace BitActors.Cli.Tests;

public sealed class RunFolderTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("bitactors-runfolder");

    public void Dispose() => _folder.Delete(true);

    private static readonly CheckpointFiles.Saved Saved = new("/runs/r/checkpoints/r-task.bin", 10, new string('b', 64), "torchsharp");

    private static BackboneReady Backbone() => new("r", "Tiny", 1, Saved with { Path = "/runs/r/checkpoints/r-upstream-Tiny.bin" }, 4, 0.3, 0.9,
        new EvaluationResult(0.8, 1, 0.4, 50, [0.8], [[40]]), TimeSpan.FromSeconds(3));

    private static FineTuneCompleted Task(string name, double top1) => new("r", new FineTuneTask(name, "d", ClassSubset.Range(5, 2), 1, 0, false), "Tiny", 2, 4,
        new EvaluationResult(top1, 1, 0.5, 20, [top1, top1], [[5, 5], [5, 5]]), Saved with { Path = $"/runs/r/checkpoints/r-{name}.bin" },
        new Dictionary<string, object>(), TimeSpan.FromSeconds(2));

    private static TrainingProgress Progress(string task, int step, double loss, double lr, double accuracy) =>
        new("r", task, step, 4, loss, accuracy, lr, 100, 0.01, 0.001);

    /// <summary>Upstream and two tasks report progress; one task completes, one fails; the reporter writes metrics.jsonl as it goes.</summary>
    private async Task<RunJournal> ReportARun()
    {
        var journal = new RunJournal();
        using var system = ActorSystem.Create("runfolder");
        var outcome = new TaskCompletionSource<RunCompleted>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reporter = system.ActorOf(RunReporter.Props(outcome, Path.Combine(_folder.FullName, MetricsLog.File), journal));
        for (int step = 1; step <= 4; step++)
        {
            reporter.Tell(Progress("upstream", step, 2.0 / step, 0.1 * step, 0.2 * step));
            reporter.Tell(Progress("transfer-1shot", step, 1.0 / step, 0.003, 0.25 * step));
        }
        reporter.Tell(Backbone());
        reporter.Tell(Task("transfer-1shot", 0.7));
        reporter.Tell(new FineTuneFailed("r", new FineTuneTask("broken", "d", ClassSubset.Range(5, 2), 1, 0, false), "loss became NaN"));
        reporter.Tell(new RunCompleted("r", Backbone(), [Task("transfer-1shot", 0.7)], []));
        await outcome.Task.WaitAsync(TimeSpan.FromSeconds(20));
        await system.Terminate();
        return journal;
    }

    [Fact]
    public async Task AFinishedRunsFolderHoldsMetricsThreePlotsWithEveryTasksSeriesAndASummary()
    {
        var journal = await ReportARun();

        var metrics = MetricsLog.Read(Path.Combine(_folder.FullName, MetricsLog.File));
        Assert.Equal(8, metrics.Count(m => !m.IsTest));
        Assert.Equal(["upstream", "transfer-1shot"], metrics.Where(m => m.IsTest).Select(m => m.Task));

        var charts = RunPlots.Charts(metrics);
        Assert.Equal(["loss.png", "lr.png", "accuracy.png"], charts.Select(c => c.File));
        var loss = charts[0].Series.Single(s => s.Label == "upstream");
        Assert.Equal([1.0, 2, 3, 4], loss.X);
        Assert.Equal([2.0, 1.0, 2.0 / 3, 0.5], loss.Y);
        Assert.Equal([0.1, 0.2, 0.30000000000000004, 0.4], charts[1].Series.Single(s => s.Label == "upstream").Y);
        Assert.Equal([0.003, 0.003, 0.003, 0.003], charts[1].Series.Single(s => s.Label == "transfer-1shot").Y);
        var accuracy = charts[2].Series;
        Assert.Equal([25.0, 50, 75, 100], accuracy.Single(s => s.Label == "transfer-1shot").Y);
        var test = accuracy.Single(s => s.Label == "transfer-1shot (test)");
        Assert.True(test.Markers);
        Assert.Equal([4.0], test.X);
        Assert.Equal(70.0, Assert.Single(test.Y), 9);

        var summary = RunFolder.Write(_folder.FullName, "r", journal, new RunFolder.Ending(), TimeSpan.FromSeconds(42), "bitactors run --dataset d");

        foreach (var file in new[] { "loss.png", "lr.png", "accuracy.png" })
        {
            using var image = SKBitmap.Decode(Path.Combine(_folder.FullName, RunPlots.Folder, file));
            Assert.True(image is { Width: 900, Height: 520 }, $"{file} is not a 900×520 image");
        }
        var text = File.ReadAllText(summary);
        Assert.Equal(Path.Combine(_folder.FullName, RunFolder.SummaryFile), summary);
        Assert.Contains("# Run r", text);
        Assert.Contains("outcome: **completed**", text);
        Assert.Contains("| transfer-1shot | backbone | 1 | 0 | 2 | 4 | 70.00 % |", text);
        Assert.Contains("| broken | loss became NaN |", text);
        Assert.Contains("test top-1 80.00 % on 50 images", text);
        Assert.Contains("`plots/accuracy.png`", text);
        Assert.Contains("8 progress lines, 2 test results", text);
    }

    [Fact]
    public void AStoppedRunsSummaryNamesTheCheckpointToResumeFrom()
    {
        var stopped = new RunStopped("r", "SIGINT", 120, "/runs/r/checkpoints/r-upstream-step120.bin");
        RunFolder.Write(_folder.FullName, "r", new RunJournal(), new RunFolder.Ending(Stopped: stopped), TimeSpan.FromSeconds(5), "bitactors demo");
        var text = File.ReadAllText(Path.Combine(_folder.FullName, RunFolder.SummaryFile));
        Assert.Contains("**stopped** (SIGINT) at step 120; resume with `--resume /runs/r/checkpoints/r-upstream-step120.bin`", text);
        Assert.Contains("0 progress lines", text);
    }

    [Fact]
    public void AMetricsFileWithABrokenLineIsRefusedNamingTheLine()
    {
        var path = Path.Combine(_folder.FullName, MetricsLog.File);
        File.WriteAllLines(path, [MetricsLog.Serialize(MetricsLog.Of(Progress("t", 1, 1, 0.1, 0.5))), "{not json"]);
        var error = Assert.Throws<InvalidDataException>(() => MetricsLog.Read(path));
        Assert.Contains("metrics.jsonl:2", error.Message);
    }
}
