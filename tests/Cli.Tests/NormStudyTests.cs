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

        Assert.Equal(["GN+WS", "GN", "BN+WS", "BN"], specs.Select(s => s.Variant.Label));
        Assert.Equal([NormKind.GroupNorm, NormKind.GroupNorm, NormKind.BatchNorm, NormKind.BatchNorm], specs.Select(s => s.Spec.Upstream.Model.Norm));
        Assert.Equal([true, false, true, false], specs.Select(s => s.Spec.Upstream.Model.WeightStandardization));
        Assert.Equal(4, specs.Select(s => s.Spec.RunId).Distinct().Count());
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
    public void TheReportGivesUpstreamAndTransferTopOnePerNormalisation()
    {
        var specs = NormStudy.Specs(BitActorsConfig.Load(demo: true), "study-2", new KafkaEndpoint("127.0.0.1:1"), "/tmp/study-2", "cpu", steps: 100);
        double[] upstream = [0.88, 0.87, 0.86, 0.80], transfer = [0.93, 0.92, 0.91, 0.85];
        var results = specs.Select((s, i) =>
        {
            var backbone = new BackboneReady(s.Spec.RunId, "Tiny", 1, new CheckpointFiles.Saved($"/tmp/{i}.bin", 10, new string('1', 64), "torchsharp"), 100, 0.3, 0.9,
                new EvaluationResult(upstream[i], 1.0, 0.3, 5000, [], []), TimeSpan.FromSeconds(60 + i), s.Variant.Norm, s.Variant.WeightStandardization);
            var task = s.Spec.Tasks[0];
            var done = new FineTuneCompleted(s.Spec.RunId, task, "Tiny", 30_000, 500, new EvaluationResult(transfer[i], 1.0, 0.2, 5000, [], []),
                new CheckpointFiles.Saved($"/tmp/t{i}.bin", 10, new string('2', 64), "torchsharp"), new Dictionary<string, object>(), TimeSpan.FromSeconds(20));
            return (s.Variant, s.Spec, new RunCompleted(s.Spec.RunId, backbone, [done], []));
        }).ToList();
        var report = new NormStudyReport("study-2", results, TimeSpan.FromSeconds(400), "bitactors demo --study norm");

        var folder = Directory.CreateTempSubdirectory("norm-study").FullName;
        try
        {
            report.Write(folder);
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, NormStudyReport.ResultsFile)));
            var variants = json.RootElement.GetProperty("variants").EnumerateArray().ToList();
            Assert.Equal(["GN+WS", "GN", "BN+WS", "BN"], variants.Select(v => v.GetProperty("norm").GetString()));
            Assert.Equal(upstream, variants.Select(v => v.GetProperty("upstream").GetProperty("test").GetProperty("top1").GetDouble()));
            Assert.Equal(transfer, variants.Select(v => v.GetProperty("transfer")[0].GetProperty("median_top1").GetDouble()));
            Assert.Equal(4, json.RootElement.GetProperty("upstream").GetProperty("per_device_batch").GetInt32());

            var md = File.ReadAllText(Path.Combine(folder, NormStudyReport.MarkdownFile));
            Assert.Contains("| BN | 80.00 % | 85.00 % | 63 s |", md);
            Assert.Contains("micro-batches of **4 images**", md);
            using var png = SKBitmap.Decode(Path.Combine(folder, NormStudyReport.PlotFile));
            Assert.Equal(900, png.Width);
        }
        finally { Directory.Delete(folder, true); }
    }
}
