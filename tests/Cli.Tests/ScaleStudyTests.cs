using System.Text.Json;
using BitActors.Actors;
using BitActors.Actors.Hosting;
using BitActors.Cli.Demo;
using BitActors.Model.Checkpoints;
using BitActors.Model.Training;
using BitActors.Streams.Kafka;
using SkiaSharp;

namespace BitActors.Cli.Tests;

public class ScaleStudyTests
{
    private static IReadOnlyList<(ScaleStudy.Variant Variant, RunSpec Spec)> Specs(int? steps = null, params string[] set) =>
        ScaleStudy.Specs(BitActorsConfig.Load(settings: set, demo: true), "study-s", new KafkaEndpoint("127.0.0.1:1"), "/tmp/study-s", "cpu", steps);

    [Fact]
    public void TheStudyTrainsTinyOnEachShareAndTheWideModelOnAllWithTheSameStepsAndScratchOnlyInTheFirstRun()
    {
        var specs = Specs();

        Assert.Equal(["Tiny", "Tiny", "Tiny", "Small"], specs.Select(s => s.Spec.Upstream.Model.Arch));
        Assert.Equal([0.1, 0.3, 1.0, 1.0], specs.Select(s => s.Spec.Upstream.Data.Fraction));
        Assert.Equal(["study-s-tiny-10pct", "study-s-tiny-30pct", "study-s-tiny-100pct", "study-s-small-100pct"], specs.Select(s => s.Spec.RunId));
        Assert.All(specs, s =>
        {
            Assert.Equal(7200, s.Spec.Upstream.Schedule.Steps);                // 0 = the demo's upstream steps: fixed compute
            Assert.Equal([0, 1, 2, 3, 4], s.Spec.Upstream.Data.Classes.Classes);
            Assert.Equal($"/tmp/study-s/{s.Spec.RunId}", s.Spec.OutputDir);
            var transfer = s.Spec.Tasks.Where(t => !t.FromScratch).ToList();
            Assert.Equal(15, transfer.Count);                                   // shots 1/5/10 × seeds 0-4
            Assert.Equal([1, 5, 10], transfer.Select(t => t.Shots).Distinct());
            Assert.Equal([0, 1, 2, 3, 4], transfer.Select(t => t.Seed).Distinct());
            Assert.All(transfer, t => Assert.Equal([5, 6, 7, 8, 9], t.Classes.Classes));
        });
        Assert.Equal(15, specs[0].Spec.Tasks.Count(t => t.FromScratch));
        Assert.All(specs.Skip(1), s => Assert.DoesNotContain(s.Spec.Tasks, t => t.FromScratch));
        Assert.All(Specs(steps: 300), s => Assert.Equal(300, s.Spec.Upstream.Schedule.Steps));
    }

    [Theory]
    [InlineData("bitactors.demo.study-scale.fractions=[0.1, 1.5]", "(0, 1], not 1.5")]
    [InlineData("bitactors.demo.study-scale.fractions=[0.3, 0.3]", "given twice")]
    [InlineData("bitactors.demo.study-scale.wide-arch=Huge", "unknown architecture 'Huge'")]
    [InlineData("bitactors.demo.study-scale.wide-arch=tiny", "the upstream's own architecture")]
    public void ASettingTheStudyCannotRunIsRefusedNamingIt(string setting, string message)
    {
        var error = Assert.Throws<InvalidDataException>(() => Specs(null, setting));
        Assert.Contains(message, error.Message);
        Assert.Contains("bitactors.demo.study-scale", error.Message);
    }

    [Fact]
    public void DemoTakesTheScaleStudyAndRefusesAnUnknownStudyOrTheMainJobsOptionsWithIt()
    {
        Assert.True(new Commands.DemoCommand.Settings { Study = "scale", Steps = 50 }.Validate().Successful);
        Assert.Contains("'norm' and 'scale', not 'size'", new Commands.DemoCommand.Settings { Study = "size" }.Validate().Message);
        Assert.Contains("--study scale trains its own backbones", new Commands.DemoCommand.Settings { Study = "scale", Seeds = "0,1" }.Validate().Message);
    }

    [Fact]
    public void WithoutAWideModelTheStudyIsTheFractionsAlone()
    {
        var specs = Specs(null, "bitactors.demo.study-scale.wide-arch=", "bitactors.demo.study-scale.fractions=[1.0, 0.5]");
        Assert.Equal([0.5, 1.0], specs.Select(s => s.Spec.Upstream.Data.Fraction));
        Assert.All(specs, s => Assert.Equal("Tiny", s.Spec.Upstream.Model.Arch));
    }

    /// <summary>
    /// Synthetic results: scratch 40 % + seed; Tiny at 10 % is scratch + 1 point, at 30 % + 2, at 100 % + 6 (+ 0.5 × seed
    /// at 1 shot); Small at 100 % is Tiny at 100 % ± 1 point alternating by seed; at 10 shots every upstream ties.
    /// </summary>
    private static ScaleStudyReport Report()
    {
        var specs = Specs(steps: 100);
        double Gain(int variant, int shots, int seed) => shots == 10 ? 1
            : variant switch { 0 => 1, 1 => 2, 2 => 6 + (shots == 1 ? 0.5 * seed : 0), _ => 6 + (shots == 1 ? 0.5 * seed : 0) + (seed % 2 == 0 ? 1 : -1) };
        var results = specs.Select((s, i) =>
        {
            var backbone = new BackboneReady(s.Spec.RunId, s.Variant.Arch, 1, new CheckpointFiles.Saved($"/tmp/{i}.bin", 10, new string('1', 64), "torchsharp"), 100, 0.3, 0.9,
                new EvaluationResult(0.80 + 0.02 * i, 1.0, 0.3, 5000, [], []), TimeSpan.FromSeconds(60));
            var done = s.Spec.Tasks.Select(t => new FineTuneCompleted(s.Spec.RunId, t, s.Variant.Arch, 5 * (t.Shots ?? 0), 500,
                new EvaluationResult((40 + t.Seed + (t.FromScratch ? 0 : Gain(i, t.Shots!.Value, t.Seed))) / 100, 1.0, 0.2, 5000, [], []),
                new CheckpointFiles.Saved($"/tmp/{t.Name}.bin", 10, new string('2', 64), "torchsharp"), new Dictionary<string, object>(), TimeSpan.FromSeconds(5))
            {
                Validation = new EvaluationResult((39 + t.Seed + (t.FromScratch ? 0 : Gain(i, t.Shots!.Value, t.Seed))) / 100, 1.0, 0.2, 100, [], []),
            }).ToList();
            return (s.Variant, s.Spec, new RunCompleted(s.Spec.RunId, backbone, done, []));
        }).ToList();
        return new ScaleStudyReport("study-s", results, TimeSpan.FromSeconds(900), "bitactors demo --study scale");
    }

    [Fact]
    public void EveryPointPairsItsTransferWithTheFirstRunsScratchBySeed()
    {
        var report = Report();
        var points = report.Points;

        Assert.Equal(12, points.Count);                                         // 4 upstreams × 3 shot counts
        var tiny10 = points.Single(p => p.Variant == new ScaleStudy.Variant("Tiny", 0.1) && p.Shots == 5);
        Assert.Equal(0.43, tiny10.MedianTop1!.Value, 6);                          // seeds 0-4: 41..45 %
        Assert.Equal(0.42, tiny10.ScratchMedianTop1!.Value, 6);
        Assert.Equal(1.0, tiny10.VersusScratch!.Mean, 6);
        Assert.Equal(5, tiny10.VersusScratch.Count);
        var small1 = points.Single(p => p.Variant.Arch == "Small" && p.Shots == 1);
        Assert.Equal([0, 1, 2, 3, 4], small1.VersusScratch!.PerSeed.Select(x => x.Seed));
        Assert.Equal(7.2, small1.VersusScratch.Mean, 6);                          // 6 + 0.5 × mean seed 2 + (1 - 1 + 1 - 1 + 1) / 5
    }

    [Fact]
    public void TheSentencesSayBetterWorseOrNoClearDifferenceAsThePairedIntervalSays()
    {
        var sentences = Report().Comparisons().Select(c => c.Sentence()).ToList();

        Assert.Equal(9, sentences.Count);                                        // data, width, biggest against smallest × 3 shot counts
        Assert.Contains("1 example per class, more upstream data: Tiny, 100 % data against Tiny, 10 % data: +6.00 points of top-1 " +
            "(mean over 5 seeds paired by seed, 95 % interval [+5.02, +6.98]): better.", sentences);
        Assert.Contains(sentences, s => s.StartsWith("5 examples per class, more upstream data: Tiny, 100 % data against Tiny, 10 % data: +5.00 points") && s.EndsWith(": better."));
        Assert.Contains(sentences, s => s.StartsWith("1 example per class, a bigger model: Small, 100 % data against Tiny, 100 % data: +0.20 points") && s.EndsWith(": no clear difference."));
        Assert.Contains(sentences, s => s.StartsWith("10 examples per class, the biggest upstream against the smallest: Small, 100 % data against Tiny, 10 % data: +0.00 points")
            && s.EndsWith(": no clear difference."));
    }

    [Fact]
    public void TheReportWritesTheTableTheSentencesTheResultsAndThePlot()
    {
        var report = Report();
        var folder = Directory.CreateTempSubdirectory("scale-study").FullName;
        try
        {
            report.Write(folder);
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, ScaleStudyReport.ResultsFile)));
            var points = json.RootElement.GetProperty("points").EnumerateArray().ToList();
            Assert.Equal(12, points.Count);
            Assert.Equal(2, points[0].GetProperty("transfer_minus_scratch").GetProperty("ci95_points").GetArrayLength());
            Assert.Equal(0.42, points[0].GetProperty("median_validation_top1").GetDouble(), 6);   // Tiny 10 %, 1 shot: test 43 %, validation one point lower
            Assert.Equal([0.1, 0.3, 1.0, 1.0], json.RootElement.GetProperty("variants").EnumerateArray().Select(v => v.GetProperty("data_fraction").GetDouble()));
            Assert.Equal(5, json.RootElement.GetProperty("scratch")[0].GetProperty("per_seed").GetArrayLength());
            Assert.Equal("better", json.RootElement.GetProperty("comparisons")[0].GetProperty("verdict").GetString());

            var md = File.ReadAllText(Path.Combine(folder, ScaleStudyReport.MarkdownFile));
            Assert.Contains("the same **100 steps**", md);
            Assert.Contains("| Tiny | 10 % | 80.00 % | 5 | 0, 1, 2, 3, 4 | 43.00 % | 42.00 % | +1.00 | [+1.00, +1.00] | transfer ahead |", md);
            Assert.Contains("- 1 example per class, more upstream data: Tiny, 100 % data against Tiny, 10 % data: +6.00 points", md);
            using var png = SKBitmap.Decode(Path.Combine(folder, ScaleStudyReport.PlotFile));
            Assert.Equal(900, png.Width);
        }
        finally { Directory.Delete(folder, true); }
    }
}
