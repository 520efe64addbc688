using System.Text.Json;
using BitActors.Actors;
using BitActors.Actors.Hosting;
using BitActors.Cli.Demo;
using BitActors.Model.Architecture;
using BitActors.Model.Checkpoints;
using BitActors.Model.Training;
using BitActors.Streams.Kafka;
using SkiaSharp;

namespace BitActors.Cli.Tests;

public class NormStudyTests
{
    [Fact]
    public void TheStudyTrainsTheFourNormalisationsAtTheSmallPerDeviceBatchAndTransfersEachToTheSameTask()
    {
        var specs = NormStudy.Specs(BitActorsConfig.Load(demo: true), "study-1", new KafkaEndpoint("127.0.0.1:1"), "/tmp/study-1", "cpu", steps: null);

        Assert.Equal(12, specs.Count);
        Assert.All(specs, s =>
        {
            Assert.Equal(4, s.Spec.Upstream.Optimizer.MicroBatch);          // bitactors.demo.study-norm.micro-batch
            Assert.Equal(4, s.Spec.FineTune.Recipe.MicroBatch);
            Assert.Equal(1200, s.Spec.Upstream.Schedule.Steps);
            Assert.Equal(500, s.Spec.FineTune.Recipe.MaxSteps);
            Assert.Equal(32, s.Spec.FineTune.Data.Augment!.Crop);      // the demo's fine-tune resolution
            Assert.StartsWith("/tmp/study-1/", s.Spec.OutputDir);
            var task = Assert.Single(s.Spec.Tasks);
            Assert.False(task.FromScratch);
            Assert.Null(task.Shots);
            Assert.Equal([5, 6, 7, 8, 9], task.Classes.Classes);
        });
        Assert.Equal(300, NormStudy.Specs(BitActorsConfig.Load(demo: true), "s", new KafkaEndpoint("b"), "/tmp/s", "cpu", steps: 300)[2].Spec.Upstream.Schedule.Steps);
    }

    [Fact]
    public void TheStudyRunsEveryVariantOncePerSeedSeedMajorWithTheSeedUpstreamAndInTheTask()
    {
        var specs = NormStudy.Specs(BitActorsConfig.Load(demo: true), "study-3", new KafkaEndpoint("127.0.0.1:1"), "/tmp/study-3", "cpu", steps: null);

        // Seed-major: all four variants of seed 0, then of seed 1, then of seed 2 (a study stopped early has complete seeds).
        Assert.Equal([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2], specs.Select(s => s.Seed));
        Assert.Equal(Enumerable.Repeat<string[]>(["GN+WS", "GN", "BN+WS", "BN"], 3).SelectMany(x => x), specs.Select(s => s.Variant.Label));
        Assert.Equal(specs.Select(s => s.Variant.Norm), specs.Select(s => s.Spec.Upstream.Model.Norm));
        Assert.Equal(specs.Select(s => s.Variant.WeightStandardization), specs.Select(s => s.Spec.Upstream.Model.WeightStandardization));
        Assert.Equal(specs.Select(s => s.Seed), specs.Select(s => s.Spec.Upstream.Seed));
        Assert.Equal(specs.Select(s => s.Seed), specs.Select(s => Assert.Single(s.Spec.Tasks).Seed));
        Assert.Equal(12, specs.Select(s => s.Spec.RunId).Distinct().Count());
        Assert.Equal(12, specs.Select(s => s.Spec.OutputDir).Distinct().Count());
        Assert.Equal("study-3-s1-bnws", specs[6].Spec.RunId);

        var one = BitActorsConfig.Load(settings: ["bitactors.demo.study-norm.seeds=[7]"], environment: new Dictionary<string, string>(), demo: true);
        Assert.Equal([7, 7, 7, 7], NormStudy.Specs(one, "s", new KafkaEndpoint("b"), "/tmp/s", "cpu", steps: 10).Select(s => s.Spec.Upstream.Seed));
    }

    /// <summary>A study's results from given per-variant, per-seed upstream and transfer top-1 (fractions).</summary>
    private static List<(NormStudy.Variant, int, RunSpec, RunCompleted)> Results(string studyId, string[] seeds,
        IReadOnlyDictionary<string, double[]> upstream, IReadOnlyDictionary<string, double[]> transfer)
    {
        var config = BitActorsConfig.Load(settings: [$"bitactors.demo.study-norm.seeds=[{string.Join(",", seeds)}]"], environment: new Dictionary<string, string>(), demo: true);
        var specs = NormStudy.Specs(config, studyId, new KafkaEndpoint("127.0.0.1:1"), $"/tmp/{studyId}", "cpu", steps: 100);
        return specs.Select((s, i) =>
        {
            int k = i / NormStudy.Variants.Count;   // seed-major: the k-th seed
            var backbone = new BackboneReady(s.Spec.RunId, "Tiny", 1, new CheckpointFiles.Saved($"/tmp/{i}.bin", 10, new string('1', 64), "torchsharp"), 100, 0.3, 0.9,
                new EvaluationResult(upstream[s.Variant.Label][k], 1.0, 0.3, 5000, [], []), TimeSpan.FromSeconds(60 + k), s.Variant.Norm, s.Variant.WeightStandardization);
            var task = s.Spec.Tasks[0];
            var done = new FineTuneCompleted(s.Spec.RunId, task, "Tiny", 30_000, 500, new EvaluationResult(transfer[s.Variant.Label][k], 1.0, 0.2, 5000, [], []),
                new CheckpointFiles.Saved($"/tmp/t{i}.bin", 10, new string('2', 64), "torchsharp"), new Dictionary<string, object>(), TimeSpan.FromSeconds(20));
            return (s.Variant, s.Seed, s.Spec, new RunCompleted(s.Spec.RunId, backbone, [done], []));
        }).ToList();
    }

    private static double[] Plus(double[] a, double offset, params double[] noise) => a.Select((v, i) => v + offset + noise[i]).ToArray();

    [Fact]
    public void TheReportGivesMeanAndSdOverSeedsBesideThePapersTablesAndSaysWhichOrderingsReproduce()
    {
        double[] b = [0.80, 0.82, 0.81], c = [0.70, 0.72, 0.71];
        var upstream = new Dictionary<string, double[]>
        {
            ["GN+WS"] = Plus(b, 0.05, 0, 0.001, -0.001),     // GN+WS − GN ≈ +5 points every seed: reproduces (paper +5.8)
            ["GN"] = Plus(b, 0, 0, 0, 0),
            ["BN+WS"] = Plus(b, 0.05, 0.01, -0.01, 0),       // GN+WS − BN+WS: −1, +1.1, −0.1: no clear difference
            ["BN"] = Plus(b, 0.08, 0.01, -0.009, -0.001),    // BN+WS − BN ≈ −3: reversed (paper +0.2); GN − BN ≈ −8: reproduces (paper −5.4)
        };
        var transfer = new Dictionary<string, double[]>
        {
            ["GN+WS"] = Plus(c, 0.04, 0, 0.001, 0),
            ["GN"] = Plus(c, 0.04, 0.02, -0.02, 0.001),      // GN+WS − GN: −2, +2.1, −0.1: no clear difference (paper +1.62)
            ["BN+WS"] = Plus(c, 0, 0, 0.001, -0.001),        // GN+WS − BN+WS ≈ +4: reproduces (paper +3.61)
            ["BN"] = Plus(c, 0.01, 0, 0, 0.001),             // BN+WS − BN ≈ −1: reproduces (paper −0.94); GN − BN: +5, +1, +3: no clear difference
        };
        var report = new NormStudyReport("study-2", Results("study-2", ["0", "1", "2"], upstream, transfer), TimeSpan.FromSeconds(400), "bitactors demo --study norm");

        var gnws = report.Rows[0];
        Assert.Equal("GN+WS", gnws.Label);
        Assert.Equal(0.86, gnws.Upstream.Mean, 9);
        Assert.Equal(Math.Sqrt((0.0001 + 0.000121 + 0.000001) / 2), gnws.Upstream.StandardDeviation, 9);   // sample sd (n − 1)
        Assert.Equal("86.00 ± 1.05 %", gnws.Upstream.Text);
        Assert.Equal([(0, 0.85), (1, 0.871), (2, 0.859)], gnws.Upstream.PerSeed.Select(p => (p.Seed, Math.Round(p.Top1, 6))));

        var verdicts = report.Orderings.ToDictionary(o => $"{o.Stage}: {o.First} vs {o.Second}", o => o.Verdict);
        Assert.Equal(8, verdicts.Count);
        Assert.Equal(NormStudyComparison.Verdict.Reproduces, verdicts["upstream: GN+WS vs GN"]);
        Assert.Equal(NormStudyComparison.Verdict.NoClearDifference, verdicts["upstream: GN+WS vs BN+WS"]);
        Assert.Equal(NormStudyComparison.Verdict.Reversed, verdicts["upstream: BN+WS vs BN"]);
        Assert.Equal(NormStudyComparison.Verdict.Reproduces, verdicts["upstream: GN vs BN"]);
        Assert.Equal(NormStudyComparison.Verdict.NoClearDifference, verdicts["transfer (transfer-all): GN+WS vs GN"]);
        Assert.Equal(NormStudyComparison.Verdict.Reproduces, verdicts["transfer (transfer-all): GN+WS vs BN+WS"]);
        Assert.Equal(NormStudyComparison.Verdict.Reproduces, verdicts["transfer (transfer-all): BN+WS vs BN"]);
        Assert.Equal(NormStudyComparison.Verdict.NoClearDifference, verdicts["transfer (transfer-all): GN vs BN"]);
        Assert.StartsWith("Of the paper's 8 orderings, judged from 3 seeds paired by seed, 4 reproduce: GN+WS > GN upstream (GN+WS − GN: here +5.00 points", report.Sentence);
        Assert.Contains("; 1 is reversed: BN+WS > BN upstream (BN+WS − BN: here -3.00 points", report.Sentence);
        Assert.Contains("; and 3 show no clear difference: GN+WS > BN+WS upstream", report.Sentence);
        Assert.Contains("BN > BN+WS transfer (transfer-all) (BN+WS − BN: here -1.03 points", report.Sentence);   // the paper's own sign: BN ahead there

        var folder = Directory.CreateTempSubdirectory("norm-study").FullName;
        try
        {
            report.Write(folder);
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, NormStudyReport.ResultsFile)));
            var variants = json.RootElement.GetProperty("variants").EnumerateArray().ToList();
            Assert.Equal(["GN+WS", "GN", "BN+WS", "BN"], variants.Select(v => v.GetProperty("norm").GetString()));
            Assert.Equal([76.0, 70.2, 75.8, 75.6], variants.Select(v => v.GetProperty("paper").GetProperty("table4_upstream_top1_percent").GetDouble()));
            Assert.Equal([70.39, 68.77, 66.78, 67.72], variants.Select(v => v.GetProperty("paper").GetProperty("table5_vtab1k_mean_percent").GetDouble()));
            Assert.Equal(upstream["BN"], variants[3].GetProperty("upstream").GetProperty("per_seed").EnumerateArray().Select(p => p.GetProperty("top1").GetDouble()));
            Assert.Equal(transfer["GN"].Average(), variants[1].GetProperty("transfer")[0].GetProperty("mean_top1").GetDouble(), 12);
            Assert.Equal([0, 1, 2], json.RootElement.GetProperty("seeds").EnumerateArray().Select(s => s.GetInt32()));
            Assert.Equal("reversed", json.RootElement.GetProperty("orderings")[2].GetProperty("verdict").GetString());
            Assert.Equal(report.Sentence, json.RootElement.GetProperty("summary").GetString());
            Assert.Equal(4, json.RootElement.GetProperty("upstream").GetProperty("per_device_batch").GetInt32());

            var md = File.ReadAllText(Path.Combine(folder, NormStudyReport.MarkdownFile));
            Assert.Contains("| GN+WS | 86.00 ± 1.05 % | 85.00 / 87.10 / 85.90 | 76.0 % |", md);
            Assert.Contains("| 70.39 % | 61 s |", md);
            Assert.Contains("arXiv 1912.11370v3", md);
            Assert.Contains(report.Sentence, md);
            Assert.Contains("| BN+WS > BN upstream (BN+WS − BN) | +0.20 | -3.00 |", md);
            Assert.Contains("micro-batches of **4 images**", md);
            using var png = SKBitmap.Decode(Path.Combine(folder, NormStudyReport.PlotFile));
            Assert.Equal(900, png.Width);
        }
        finally { Directory.Delete(folder, true); }
    }

    [Fact]
    public void WithOneSeedTheReportSaysNoOrderingCanBeJudged()
    {
        var one = new Dictionary<string, double[]> { ["GN+WS"] = [0.9], ["GN"] = [0.8], ["BN+WS"] = [0.85], ["BN"] = [0.7] };
        var report = new NormStudyReport("study-4", Results("study-4", ["0"], one, one), TimeSpan.FromSeconds(100), "bitactors demo --study norm");

        Assert.All(report.Orderings, o => Assert.Equal(NormStudyComparison.Verdict.NoInterval, o.Verdict));
        Assert.Equal("With 1 seed per variant there is no interval, so none of the paper's 8 orderings can be judged.", report.Sentence);
        Assert.Equal("90.00 %", report.Rows[0].Upstream.Text);
    }
}
