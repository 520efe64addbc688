using System.Diagnostics;
using System.Text.Json;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using BitActors.Actors.Events;
using BitActors.Actors.FineTuning;
using BitActors.Actors.Hosting;
using BitActors.Actors.Tests.Fakes;
using BitActors.Actors.Training;
using BitActors.Streams.Datasets;
using BitActors.Streams.Images;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Tests;

/// <summary>
/// Three fine-tune tasks on the embedded broker with fake trainers (told apart by seed): one trains
/// straight through, one fails once and is retried from its own checkpoint, one keeps failing and is
/// reported as failed while the others finish. kcat reads the events back.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class FineTuneRetryTests() : TestKit(BitActorsConfig.Reference())
{
    [Fact]
    public async Task AFailedTaskIsRetriedFromItsOwnCheckpointAndOneThatKeepsFailingIsReportedWhileTheOthersGoOn()
    {
        await using var data = await PublishedDataset.CreateAsync(Sys, "retry", train: 200, test: 20);
        // A real file: the run reads what it is; the trainers are fake and never load it.
        var backbone = Path.Combine(data.Output.FullName, "backbone.safetensors");
        using (var model = new BitActors.Model.Architecture.ResNetV2(BitActors.Model.Architecture.KnownModels.Get("Tiny", 1), 5))
            BitActors.Model.Checkpoints.CheckpointFiles.Save(model, backbone);
        var logs = new Dictionary<int, TrainerLog> { [0] = new(), [1] = new(), [2] = new() };
        lock (logs[1]) logs[1].FailAt.Add(7);
        lock (logs[2]) logs[2].AlwaysFailAt = 3;
        Func<TrainerSpec, Props> trainers = spec => Props.Create(() => new FakeTrainer(spec, logs[spec.Seed]));

        var augment = new AugmentSettings(16, 16, 1);
        var tasks = new[] { 0, 1, 2 }.Select(seed => new FineTuneTask($"task-{seed}", "retry", ClassSubset.Range(5, 5), 3, seed, FromScratch: false)).ToArray();
        // 15 examples: the HyperRule's 500 steps squeezed into 12: warmup 2, ÷10 after 5, 7 and 10; checkpoints before steps 2, 6, 8 and 11.
        var run = new RunSpec("retry-run", data.Kafka.Endpoint, data.Output.FullName,
            new UpstreamSettings
            {
                Data = new() { Dataset = "retry", Classes = ClassSubset.Range(0, 5), Augment = augment, ShuffleBuffer = 16, DecodeParallelism = 1 },
                Model = new("Tiny"),
                Schedule = new() { BatchSize = 8, Steps = 1, BaseLrPer256 = 0.1, WarmupFraction = 0.1 },
                Seed = 0,
            },
            new FineTuneSettings { Recipe = new() { BatchSize = 8, BaseLr = 0.003, MaxSteps = 12 }, Data = new() { Augment = augment, ShuffleBuffer = 16, DecodeParallelism = 1, EvalBatchSize = 64 }, Loop = new() { ProgressEvery = 100, MaxRestarts = 2, RestartBackoffSeconds = 0.05 } },
            tasks, Backbone: new GivenBackbone(backbone, "Tiny", 1));
        var reporter = CreateTestProbe();
        var seen = new List<object>();
        Sys.ActorOf(TrainingSupervisor.Props(run, reporter.Ref, dispatcherProps: (r, rep) => FineTuneDispatcher.Props(r, rep, trainers)));
        reporter.FishForMessage(m => { seen.Add(m); return m is RunCompleted or RunFailed; }, TimeSpan.FromMinutes(2));

        var completed = Assert.IsType<RunCompleted>(seen.Last());
        Assert.Equal(["task-0", "task-1"], completed.Completed.Select(c => c.Task.Name).Order());
        var failed = Assert.Single(completed.Failed);
        Assert.Equal("task-2", failed.Task.Name);
        Assert.Contains("restarted 2 times", failed.Reason);
        Assert.Contains("NaN at step 3", failed.Reason);

        var retries = seen.OfType<TrainerRestarted>().ToList();
        Assert.Equal([(1, 6)], retries.Where(r => r.Task == "task-1").Select(r => (r.Attempt, r.FromStep)));
        Assert.Equal([(1, 2), (2, 2)], retries.Where(r => r.Task == "task-2").Select(r => (r.Attempt, r.FromStep)));
        Assert.DoesNotContain(retries, r => r.Task == "task-0");
        lock (logs)
        {
            Assert.Equal(Enumerable.Range(0, 12), logs[0].Steps.Select(s => s.Step));
            // Steps 0-6 ran, 7 failed; the retry resumed from the task's checkpoint before step 6 and lost only step 6.
            Assert.Equal([0, 1, 2, 3, 4, 5, 6, 6, 7, 8, 9, 10, 11], logs[1].Steps.Select(s => s.Step));
            Assert.EndsWith("retry-run-task-1-step6.bin", logs[1].ResumedFrom[1]);
            Assert.Equal(3, logs[2].ResumedFrom.Count);  // the first trainer and two retries, all from before step 2 after the first
            Assert.All(logs[2].ResumedFrom.Skip(1), p => Assert.EndsWith("retry-run-task-2-step2.bin", p));
        }

        // An independent consumer sees one event per task, each with the id derived from its type and run/task.
        var psi = new ProcessStartInfo("kcat", $"-C -b {data.Kafka.BootstrapServers} -t {Topics.Models} -e -q -J") { RedirectStandardOutput = true };
        using var kcat = Process.Start(psi)!;
        var lines = (await kcat.StandardOutput.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        await kcat.WaitForExitAsync();
        var events = lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("headers").EnumerateArray().Select(h => h.GetString()!).ToArray())
            .Select(h => (Type: Header(h, "ce_type"), Subject: Header(h, "ce_subject"), Id: Header(h, "ce_id"))).ToList();
        Assert.Equal(["bit.backbone.ready", "bit.finetune.completed", "bit.finetune.completed", "bit.finetune.failed"], events.Select(e => e.Type).Order());
        Assert.Equal("retry-run/task-2", events.Single(e => e.Type == "bit.finetune.failed").Subject);
        Assert.All(events, e => Assert.Equal(ModelEvent.StableId(e.Type, e.Subject), e.Id));
        Assert.Equal(4, events.Select(e => e.Id).Distinct().Count());
    }

    private static string Header(string[] headers, string name) => headers.SkipWhile(h => h != name).Skip(1).First();
}
