using System.Text.Json;
using BitActors.Cli.Soak;
using BitActors.Streams.Tests;

namespace BitActors.Cli.Tests;

public class MemoryTrendTests
{
    [Fact]
    public void TheSlopeOfSamplesOnALineIsThatLinesSlopeAndNoiseAroundAFlatLineGivesAboutZero()
    {
        var growing = Enumerable.Range(0, 20).Select(i => new MemorySample(i * 0.5, 300 + 2.0 * i * 0.5, 10 + 0.25 * i * 0.5)).ToList();
        Assert.Equal(2.0, MemoryTrend.RssSlope(growing), 9);
        Assert.Equal(0.25, MemoryTrend.ManagedHeapSlope(growing), 9);
        var flat = Enumerable.Range(0, 20).Select(i => new MemorySample(i * 0.5, 300 + (i % 2 == 0 ? 5 : -5), 10)).ToList();
        Assert.InRange(MemoryTrend.RssSlope(flat), -1, 1);
        Assert.Equal(0, MemoryTrend.Slope([(1, 5)]));
    }

    [Fact]
    public void ASlopeWithinTwoStandardErrorsOfTheThresholdIsFlat()
    {
        var exact = Enumerable.Range(0, 10).Select(i => ((double)i, 100 + 3.0 * i)).ToList();
        Assert.Equal(0, MemoryTrend.SlopeStandardError(exact), 9);
        Assert.False(MemoryTrend.IsFlat(3.0, 0, maxSlope: 1));
        var noisy = Enumerable.Range(0, 10).Select(i => ((double)i, 100 + 1.5 * i + (i % 2 == 0 ? 8 : -8))).ToList();
        var error = MemoryTrend.SlopeStandardError(noisy);
        Assert.True(error > 0.25);
        Assert.True(MemoryTrend.IsFlat(MemoryTrend.Slope(noisy), error, maxSlope: 1));
    }

    [Fact]
    public void TheWarmupIsLeftOutOfTheFit()
    {
        var samples = Enumerable.Range(0, 10).Select(i => new MemorySample(i, i < 3 ? i * 100 : 300, 0)).ToList();
        var fitted = MemoryTrend.AfterWarmup(samples, 0.25);   // the run is 9 minutes: from 2.25 min on
        Assert.Equal(3.0, fitted[0].Minutes);
        Assert.Equal(0, MemoryTrend.RssSlope(fitted));
        Assert.Equal(2, MemoryTrend.AfterWarmup(samples.Take(2).ToList(), 0.9).Count);
    }
}

[Trait("Category", "EndToEnd")]
public sealed class BenchSoakTests : IDisposable
{
    private readonly DirectoryInfo source = TestData.WriteIdx(train: 64, test: 16);

    [Fact]
    public async Task SoakSamplesMemoryWhileTrainingAndReportsSlopesAndWhetherTheyAreFlat()
    {
        var (code, stdout, stderr) = await CliProcess.RunAsync(TimeSpan.FromMinutes(2),
            "bench", "soak", "--minutes", "0.15", "--interval", "1", "--source", source.FullName, "--limit", "64", "--json");
        Assert.True(code is 0 or 3, stderr);
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        Assert.Equal("soak", root.GetProperty("bench").GetString());
        Assert.True(root.GetProperty("samples").GetInt32() >= 2);
        Assert.Equal(root.GetProperty("samples").GetInt32(), root.GetProperty("series").GetArrayLength());
        Assert.All(root.GetProperty("series").EnumerateArray(), s => Assert.True(s[1].GetDouble() > 0, "RSS must be positive"));
        var flat = root.GetProperty("flat").GetBoolean();
        Assert.Equal(flat, root.GetProperty("rss_flat").GetBoolean() && root.GetProperty("managed_heap_flat").GetBoolean());
        Assert.Equal(flat ? 0 : 3, code);
        Assert.Equal(MemoryTrend.IsFlat(root.GetProperty("rss_slope_mb_per_min").GetDouble(), root.GetProperty("rss_slope_stderr").GetDouble(),
            root.GetProperty("max_slope_mb_per_min").GetDouble()), root.GetProperty("rss_flat").GetBoolean());
        Assert.Contains("[soak]", stderr);
    }

    public void Dispose() => source.Delete(true);
}

/// <summary>A soak of `run` with many tasks queued against one trainer, small: what is held per task stays bounded.</summary>
[Trait("Category", "EndToEnd")]
public sealed class TaskSoakTests : IDisposable
{
    private readonly DirectoryInfo source = TestData.WriteIdx(train: 64, test: 16);

    [Fact]
    public async Task ASoakOfManyTasksKeepsUndeliveredEventsRunningTasksAndConfusionMatricesBounded()
    {
        const int tasks = 30;
        var (code, stdout, stderr) = await CliProcess.RunAsync(TimeSpan.FromMinutes(4),
            "bench", "soak", "--tasks", $"{tasks}", "--sample-every", "5", "--source", source.FullName, "--limit", "64", "--json");
        Assert.True(code is 0 or 3, stderr);
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        Assert.Equal(("soak-tasks", tasks, 0), (root.GetProperty("bench").GetString(), root.GetProperty("completed").GetInt32(), root.GetProperty("failed").GetInt32()));
        var bounded = root.GetProperty("bounded");
        Assert.True(bounded.GetProperty("backlog_samples").GetInt32() >= 4, stdout); // after 5, 10, 15, 20, 25 tasks
        // Each task's event is delivered in milliseconds: held undelivered, at most the one just announced (before: every event of the run).
        Assert.InRange(bounded.GetProperty("max_pending_events").GetInt32(), 0, 2);
        Assert.Equal(1, bounded.GetProperty("max_running").GetInt32()); // one trainer
        Assert.InRange(bounded.GetProperty("max_outcomes_held").GetInt32(), 5, tasks);
        Assert.Equal(0, bounded.GetProperty("confusion_matrices_kept").GetInt32()); // each went out with its event
        Assert.All(root.GetProperty("series").EnumerateArray(), s => Assert.True(s[2].GetDouble() > 0, "RSS must be positive"));
        foreach (var at in new[] { "at_10pct", "at_50pct", "at_100pct" }) Assert.True(root.GetProperty("rss_mb").GetProperty(at).GetDouble() > 0);
        Assert.Equal(root.GetProperty("flat").GetBoolean() ? 0 : 3, code);
    }

    public void Dispose() => source.Delete(true);
}
