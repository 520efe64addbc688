using System.Text.Json;
using BitActors.Cli.Demo;

namespace BitActors.Cli.Tests;

/// <summary>The README's results block is generated from a committed results file, with intervals and claims no stronger
/// than they support.</summary>
public class ReadmeResultsTests
{
    private static readonly string Root = FindRoot();

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "BitActors.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException($"no BitActors.sln above {AppContext.BaseDirectory}");
    }

    [Fact]
    public void APairedDifferenceClaimsALeadOnlyWhereItsIntervalExcludesZero()
    {
        // 1, 2, 3 points: mean 2, sd 1, t(0.975, 2) = 4.3027: 2 ± 2.484.
        var crossing = PairedDifference.Of([(0, 0.60), (1, 0.70), (2, 0.80)], [(0, 0.59), (1, 0.68), (2, 0.77)])!;
        Assert.Equal(2.0, crossing.Mean, 9);
        Assert.Equal(1.0, crossing.StandardDeviation, 9);
        var (low, high) = crossing.Interval95!.Value;
        Assert.Equal(-0.484, low, 3);
        Assert.Equal(4.484, high, 3);
        Assert.Equal("no clear difference", crossing.Verdict);
        Assert.StartsWith("no clear difference", ReadmeResults.Sentence(crossing));

        var ahead = PairedDifference.Of([(0, 0.62), (1, 0.621), (2, 0.619), (7, 0.9)], [(0, 0.60), (1, 0.60), (2, 0.60)])!;
        Assert.Equal(3, ahead.Count); // seed 7 has no scratch twin
        Assert.Equal("transfer ahead", ahead.Verdict);
        Assert.Equal("scratch ahead", PairedDifference.Of([(0, 0.5), (1, 0.51)], [(0, 0.6), (1, 0.6)])!.Verdict);

        var one = PairedDifference.Of([(0, 0.9)], [(0, 0.8)])!;
        Assert.Null(one.Interval95);
        Assert.StartsWith("one seed only", ReadmeResults.Sentence(one));
    }

    [Fact]
    public void TheBlockIsRenderedFromTheResultsFileAndReplacesOnlyWhatLiesBetweenItsMarkers()
    {
        var folder = Directory.CreateTempSubdirectory("bitactors-readme");
        try
        {
            var results = Path.Combine(folder.FullName, "demo-results.json");
            object Arm(params double[] top1) => new { median_top1 = top1.Order().ElementAt(top1.Length / 2), per_seed = top1.Select((t, i) => new { seed = i, top1 = t }) };
            File.WriteAllText(results, JsonSerializer.Serialize(new
            {
                run = "demo-x", command = "bitactors demo", wall_seconds = 123.4, machine = new { processors = 2, device = "cpu" },
                upstream = new { seconds = 60.0 },
                table = new object[]
                {
                    new { examples_per_class = "5", train_examples = 25, transfer = Arm(0.60, 0.70, 0.80), scratch = Arm(0.59, 0.68, 0.77) },
                    new { examples_per_class = "all", train_examples = 30000, transfer = Arm(0.91), scratch = Arm(0.90) },
                },
                tasks = new[] { new { classes = new[] { 5, 6 }, test = new { examples = 2000 } } },
                files = new { report = "report.md", plot = "accuracy.png" },
            }));
            var readme = $"# Title\n\nbefore\n{ReadmeResults.Begin}\nstale numbers\n{ReadmeResults.End}\nafter\n";
            var block = ReadmeResults.Render(results, folder.FullName);
            var rewritten = ReadmeResults.Rewrite(readme, block);

            Assert.StartsWith("# Title\n\nbefore\n" + ReadmeResults.Begin + "\n", rewritten);
            Assert.EndsWith(ReadmeResults.End + "\nafter\n", rewritten);
            Assert.DoesNotContain("stale numbers", rewritten);
            Assert.Contains("run `demo-x`: 123 s wall time (upstream 60 s). Test top-1 on all 2,000 test images of classes 5, 6", block);
            Assert.Contains("| 5 | 0, 1, 2 | 70.00 % | 68.00 % | +2.00 | [-0.48, +4.48] | no clear difference | 60.0 / 70.0 / 80.0 | 59.0 / 68.0 / 77.0 |", block);
            Assert.Contains("| all (30,000 examples) | 0 | 91.00 % | 90.00 % | +1.00 | - | one seed, no interval |", block);
            Assert.Contains("- 5 examples per class: no clear difference: +2.00 points, 95 % interval [-0.48, +4.48] crosses zero (3 seeds).", block);
            Assert.Equal(rewritten, ReadmeResults.Rewrite(rewritten, block)); // idempotent
            Assert.Throws<InvalidDataException>(() => ReadmeResults.Rewrite("# no markers\n", block));
        }
        finally { folder.Delete(true); }
    }

    /// <summary>The README's block is what its committed results file gives: no number in it was typed by hand.</summary>
    [Fact]
    public async Task TheReadmesResultsBlockIsWhatItsCommittedResultsFileGives()
    {
        var (code, stdout, stderr) = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "report", "readme", "--check",
            "--results", Path.Combine(Root, "docs", "demo", "demo-results.json"), "--readme", Path.Combine(Root, "README.md"));
        Assert.True(code == 0, stdout + stderr);
    }
}
