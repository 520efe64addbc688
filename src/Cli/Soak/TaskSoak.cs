using System.Diagnostics;
using Akka.Actor;
using Akka.Streams;
using BitActors.Actors;
using BitActors.Actors.FineTuning;
using BitActors.Actors.Hosting;
using BitActors.Cli.Reports;
using BitActors.Cli.Terminal;
using BitActors.Model.Architecture;
using BitActors.Model.Checkpoints;
using BitActors.Streams.Datasets;
using BitActors.Streams.Images;
using BitActors.Streams.Pipelines;
using Serilog;
using Spectre.Console;

namespace BitActors.Cli.Soak;

/// <summary>What the soak holds at one point: tasks finished, memory, and what the run's fan-out holds (null: not asked).</summary>
public sealed record TaskSample(int Finished, double Minutes, double RssMb, double ManagedHeapMb, FanOutBacklog? Backlog);

/// <summary>What a task soak measured: every sample, the run's outcome, and the tasks that failed.</summary>
public sealed record TaskSoakResult(IReadOnlyList<TaskSample> Samples, RunCompleted Run, TimeSpan Elapsed, int ImagesPerTask, int TestImages);

/// <summary>
/// A soak of <c>run</c> with many fine-tune tasks queued against one trainer: a tiny backbone fanned out to
/// <c>tasks</c> one-shot tasks of a small dataset on the embedded broker, each a step or two, through the same
/// <see cref="RunSession"/> as <c>run --backbone</c> (reporter, journal, run folder). Every <c>sampleEvery</c> finished
/// tasks it records the process's memory and what the fan-out holds (<see cref="FanOutBacklog"/>): what grows per task
/// shows as a slope over tasks.
/// </summary>
public static class TaskSoak
{
    public sealed record Options(int Tasks, int SampleEvery, int StepsPerTask, string Arch, int Resolution, int Limit, string Source);

    public static async Task<TaskSoakResult> RunAsync(Options o, CancellationToken cancellationToken)
    {
        var config = BitActorsConfig.Load(null, demo: true);
        using var kafka = KafkaConnection.Open(null, config, config.GetInt("bitactors.kafka.embedded-brokers"));
        using var host = BitActorsHost.Start(config, "soak");
        var data = IdxDataset.Load("soak-tasks", o.Source, null, o.Limit);
        var published = await new DatasetPublisher(kafka.Admin, host.System.Materializer()).PublishAsync(data, cancellationToken);
        var classes = ClassSubset.Range(0, Math.Min(5, published.Manifest.Classes.Count));
        var folder = Directory.CreateTempSubdirectory("bitactors-soak-tasks").FullName;
        try
        {
            var backbonePath = Path.Combine(folder, "backbone.bin");
            using (var model = new ResNetV2(KnownModels.Get(o.Arch, 1), classes.Count)) CheckpointFiles.Save(model, backbonePath);
            var fineTune = BitActorsConfig.FineTune(config, null, 1);
            fineTune = fineTune with
            {
                Recipe = fineTune.Recipe with { BatchSize = 8, MicroBatch = 0, MaxSteps = o.StepsPerTask },
                Data = fineTune.Data with { Augment = new AugmentSettings(o.Resolution * 9 / 8, o.Resolution, 1), ShuffleBuffer = 16, DecodeParallelism = 1, EvalBatchSize = 64 },
                Loop = fineTune.Loop with { CheckpointEvery = 0, CheckpointAtPhaseChange = false, ProgressEvery = 1000 },
                MaxConcurrentTasks = 1, // one trainer: the tasks queue against it
            };
            var tasks = new TaskPlan("soak-tasks", classes, [1], Enumerable.Range(0, o.Tasks).ToList()).Tasks();
            var run = new RunSpec($"soak-tasks-{DateTime.UtcNow:yyyyMMdd-HHmmss}", kafka.Endpoint, Path.Combine(folder, "run"), BitActorsConfig.Upstream(config),
                fineTune, tasks, Device: "cpu", Backbone: new GivenBackbone(backbonePath, o.Arch, 1));

            var journal = new RunJournal();
            var clock = Stopwatch.StartNew();
            var samples = new List<TaskSample> { await SampleAsync(host, run.RunId, 0, clock) };
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var sampling = FollowAsync(host, run.RunId, journal, o, samples, clock, stop.Token);
            // Progress lines go to stderr: stdout is the result.
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
            var (completed, code) = await RunSession.RunAsync(host, run, console, cancellationToken, journal);
            await stop.CancelAsync();
            await sampling;
            var done = completed ?? throw new InvalidOperationException($"the soak's run stopped (exit {code}) before its tasks finished");
            if (samples[^1].Finished < done.Completed.Count + done.Failed.Count)
                samples.Add(await SampleAsync(host, run.RunId, done.Completed.Count + done.Failed.Count, clock, askBacklog: false));
            await host.StopAsync();
            var testImages = (int)published.Manifest.Split("test").Records;
            return new TaskSoakResult(samples, done, clock.Elapsed, classes.Count, testImages);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Samples each time another <c>SampleEvery</c> tasks have finished, until stopped.</summary>
    private static async Task FollowAsync(BitActorsHost host, string runId, RunJournal journal, Options o, List<TaskSample> samples, Stopwatch clock,
        CancellationToken stop)
    {
        var next = o.SampleEvery;
        while (!stop.IsCancellationRequested)
        {
            try { await Task.Delay(200, stop); }
            catch (OperationCanceledException) { return; }
            var finished = journal.Finished;
            if (finished < next) continue;
            var sample = await SampleAsync(host, runId, finished, clock);
            lock (samples) samples.Add(sample);
            Log.Information("[soak] {Finished} of {Tasks} tasks: RSS {Rss:F0} MB, managed heap {Heap:F1} MB, fan-out {Backlog}",
                finished, o.Tasks, sample.RssMb, sample.ManagedHeapMb, sample.Backlog);
            next = (finished / o.SampleEvery + 1) * o.SampleEvery;
        }
    }

    private static async Task<TaskSample> SampleAsync(BitActorsHost host, string runId, int finished, Stopwatch clock, bool askBacklog = true)
    {
        FanOutBacklog? backlog = null;
        if (askBacklog)
        {
            try
            {
                backlog = await host.System.ActorSelection($"/user/supervisor-{runId}/*/finetune")
                    .Ask<FanOutBacklog>(new DescribeBacklog(), TimeSpan.FromSeconds(5));
            }
            catch (Exception e) when (e is AskTimeoutException or TaskCanceledException or ActorNotFoundException) { } // not fanned out yet, or done
        }
        var memory = MemorySample.Now(clock.Elapsed);
        return new TaskSample(finished, memory.Minutes, memory.RssMb, memory.ManagedHeapMb, backlog);
    }
}
