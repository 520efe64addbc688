using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Akka.TestKit.Xunit2;
using BitActors.Actors;
using BitActors.Actors.Hosting;
using BitActors.Actors.Training;
using BitActors.Model.Architecture;
using BitActors.Model.Checkpoints;
using BitActors.Streams.Images;
using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Tests;

/// <summary>
/// A run with a backbone given as a file (here a BiT-layout .npz) skips upstream and fans it out to three
/// tasks; kcat, an independent consumer, reads the events back and every checkpoint hash matches its file.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class GivenBackboneTests() : TestKit(BitActorsConfig.Reference())
{
    [Fact]
    public async Task AGivenNpzBackboneFansOutToThreeTasksWhoseEventsMatchTheirFiles()
    {
        await using var data = await PublishedDataset.CreateAsync(Sys, "given", train: 300, test: 60);
        var npz = Path.Combine(data.Output.FullName, "backbone.npz");
        using (var model = new ResNetV2(KnownModels.Get("Tiny", 1), 5)) CheckpointFiles.Save(model, npz);

        var augment = new AugmentSettings(18, 16, 1);
        var upstream = new UpstreamSettings
        {
            Data = new() { Dataset = "given", Classes = ClassSubset.Range(0, 5), Augment = augment, ShuffleBuffer = 64, DecodeParallelism = 2 },
            Model = new("Tiny"),
            Schedule = new() { BatchSize = 16, Steps = 1, BaseLrPer256 = 0.1, WarmupFraction = 0.1 },
            Seed = 0,
        };
        var tasks = new[]
        {
            new FineTuneTask("transfer-3shot", "given", ClassSubset.Range(5, 5), 3, 0, FromScratch: false),
            new FineTuneTask("transfer-3shot-s1", "given", ClassSubset.Range(5, 5), 3, 1, FromScratch: false),
            new FineTuneTask("transfer-all", "given", ClassSubset.Range(0, 10), null, 0, FromScratch: false),
        };
        var run = new RunSpec("given-run", data.Kafka.Endpoint, data.Output.FullName, upstream,
            new FineTuneSettings { Recipe = new() { BatchSize = 8, BaseLr = 0.003, MaxSteps = 30 }, Data = new() { Augment = augment, ShuffleBuffer = 32, DecodeParallelism = 2, EvalBatchSize = 64 } }, tasks, Backbone: new GivenBackbone(npz, "Tiny", 1));
        var reporter = CreateTestProbe();
        Sys.ActorOf(TrainingSupervisor.Props(run, reporter.Ref), "supervisor");
        var outcome = reporter.FishForMessage(m => m is RunCompleted or RunFailed, TimeSpan.FromMinutes(4));
        if (outcome is RunFailed failed) throw new InvalidOperationException(failed.Reason);
        var completed = (RunCompleted)outcome;
        Assert.Equal(0, completed.Backbone.Steps);
        Assert.Empty(completed.Failed);
        Assert.Equal(3, completed.Completed.Count);

        var psi = new ProcessStartInfo("kcat", $"-C -b {data.Kafka.BootstrapServers} -t {Topics.Models} -e -q -J") { RedirectStandardOutput = true };
        using var kcat = Process.Start(psi)!;
        var lines = (await kcat.StandardOutput.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        await kcat.WaitForExitAsync();
        var events = lines.Select(l => JsonDocument.Parse(l).RootElement).Select(e => (
            Type: e.GetProperty("headers").EnumerateArray().Select(h => h.GetString()).SkipWhile(h => h != "ce_type").Skip(1).First(),
            Data: JsonDocument.Parse(e.GetProperty("payload").GetString()!).RootElement)).ToList();
        var backbone = Assert.Single(events, e => e.Type == "bit.backbone.ready");
        Assert.Equal("given", backbone.Data.GetProperty("source").GetString());
        // Announced as safetensors (the same weights under timm's names); the given file is named beside it.
        Assert.Equal(Sha256(npz), backbone.Data.GetProperty("given").GetProperty("sha256").GetString());
        Assert.Equal("npz", backbone.Data.GetProperty("given").GetProperty("format").GetString());
        var announced = backbone.Data.GetProperty("checkpoint");
        Assert.Equal("safetensors", announced.GetProperty("format").GetString());
        Assert.Equal(announced.GetProperty("sha256").GetString(), Sha256(new Uri(announced.GetProperty("uri").GetString()!).LocalPath));
        var finished = events.Where(e => e.Type == "bit.finetune.completed").ToList();
        Assert.Equal(3, finished.Count);
        Assert.All(finished, e =>
        {
            var checkpoint = e.Data.GetProperty("checkpoint");
            var file = new Uri(checkpoint.GetProperty("uri").GetString()!).LocalPath;
            Assert.Equal(checkpoint.GetProperty("sha256").GetString(), Sha256(file));
            Assert.Equal("backbone", e.Data.GetProperty("init").GetString());
        });
        Assert.Equal(tasks.Select(t => t.Name).Order(), finished.Select(e => e.Data.GetProperty("task").GetString()!).Order());
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
