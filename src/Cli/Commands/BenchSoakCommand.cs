using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using Akka.Streams;
using BitActors.Actors;
using BitActors.Actors.Hosting;
using BitActors.Cli.Terminal;
using BitActors.Cli.Soak;
using BitActors.Streams.Datasets;
using BitActors.Streams.Images;
using BitActors.Streams.Pipelines;
using Serilog;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BitActors.Cli.Commands;

/// <summary>
/// A long upstream run of a small model streamed from the embedded broker, epoch after epoch, with the
/// process's memory (RSS and managed heap) sampled throughout: a leak shows as a slope. The run is
/// stopped after the given time; the slopes are fitted to the samples after the warm-up. With <c>--tasks N</c>, a
/// soak of <c>run</c> instead: N tiny fine-tune tasks queued against one trainer (<see cref="TaskSoak"/>), memory
/// sampled every <c>--sample-every</c> finished tasks, slopes over tasks.
/// </summary>
public sealed class BenchSoakCommand(IAnsiConsole console) : AsyncCommand<BenchSoakCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--minutes <N>")]
        [Description("How long to train (default 10; fractions allowed).")]
        [DefaultValue(10.0)]
        public double Minutes { get; init; } = 10;

        [CommandOption("--interval <SECONDS>")]
        [Description("Seconds between memory samples (default: the run's length / 60, from 1 to 30).")]
        public double? Interval { get; init; }

        [CommandOption("--warmup-fraction <F>")]
        [Description("Share of the run left out of the slopes while caches and buffers fill (default 0.25).")]
        [DefaultValue(0.25)]
        public double WarmupFraction { get; init; } = 0.25;

        [CommandOption("--max-slope <MB_PER_MIN>")]
        [Description("Largest slope called flat, for RSS and for the managed heap (default 1 MB/min, 1.4 GB a day); flat: slope ≤ this + 2 standard errors of the slope.")]
        [DefaultValue(1.0)]
        public double MaxSlope { get; init; } = 1.0;

        [CommandOption("--arch <ARCH>")]
        [Description("Architecture (default Tiny).")]
        [DefaultValue("Tiny")]
        public string Arch { get; init; } = "Tiny";

        [CommandOption("--batch <N>")]
        [Description("Batch size (default 32).")]
        [DefaultValue(32)]
        public int Batch { get; init; } = 32;

        [CommandOption("--resolution <PX>")]
        [Description("Crop size; images are resized to 1.125× it first (default 32, from 36).")]
        [DefaultValue(32)]
        public int Resolution { get; init; } = 32;

        [CommandOption("--source <DIR>")]
        [Description("Folder of MNIST-style IDX files (default: Fashion-MNIST from the Debian package).")]
        public string? Source { get; init; }

        [CommandOption("--limit <N>")]
        [Description("Images published per split (default 6000: many epochs, many epoch boundaries; with --tasks 200).")]
        [DefaultValue(6000)]
        public int Limit { get; init; } = 6000;

        [CommandOption("--tasks <N>")]
        [Description("Soak `run` instead: N one-shot fine-tune tasks of a tiny backbone queued against one trainer; memory per finished task.")]
        public int? Tasks { get; init; }

        [CommandOption("--sample-every <N>")]
        [Description("With --tasks: finished tasks between samples (default: tasks / 20, at least 1).")]
        public int? SampleEvery { get; init; }

        [CommandOption("--steps-per-task <N>")]
        [Description("With --tasks: training steps of each task (default 2).")]
        [DefaultValue(2)]
        public int StepsPerTask { get; init; } = 2;

        [CommandOption("--max-task-slope <MB_PER_100_TASKS>")]
        [Description("With --tasks: largest slope called flat, MB per 100 tasks, for RSS and the managed heap (default 2); flat: slope ≤ this + 2 standard errors.")]
        [DefaultValue(2.0)]
        public double MaxTaskSlope { get; init; } = 2.0;

        [CommandOption("--json")]
        [Description("Print one JSON object.")]
        public bool Json { get; init; }

        public override ValidationResult Validate() =>
            Minutes <= 0 ? ValidationResult.Error("--minutes must be positive")
            : Interval is <= 0 ? ValidationResult.Error("--interval must be positive")
            : WarmupFraction is < 0 or >= 1 ? ValidationResult.Error("--warmup-fraction must be in [0, 1)")
            : Batch < 1 || Resolution < 16 || Limit < Batch ? ValidationResult.Error("--batch must be positive, --resolution at least 16 and --limit at least --batch")
            : Tasks is < 1 || SampleEvery is < 1 || StepsPerTask < 1 ? ValidationResult.Error("--tasks, --sample-every and --steps-per-task must be at least 1")
            : ValidationResult.Success();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (settings.Tasks is { } tasks) return await SoakTasksAsync(settings, tasks, cancellationToken);
        var config = BitActorsConfig.Load(null, demo: true); // Fashion-MNIST: the demo's profile
        var source = settings.Source ?? FashionMnistSetup.EnsureInstalled();
        using var kafka = KafkaConnection.Open(null, config, config.GetInt("bitactors.kafka.embedded-brokers"));
        using var host = BitActorsHost.Start(config, "soak");
        var data = IdxDataset.Load("soak", source, null, settings.Limit);
        var published = await new DatasetPublisher(kafka.Admin, host.System.Materializer()).PublishAsync(data, cancellationToken);
        var classes = published.Manifest.Classes.Count;

        var output = Directory.CreateTempSubdirectory("bitactors-soak").FullName;
        var configured = BitActorsConfig.Upstream(config);
        var upstream = configured with
        {
            Data = configured.Data with
            {
                Dataset = "soak", Classes = ClassSubset.Range(0, classes), Augment = new AugmentSettings(settings.Resolution * 9 / 8, settings.Resolution, 1),
            },
            Model = configured.Model with { Arch = settings.Arch },
            // Stopped by the clock, not the schedule: more steps than the run can take (at most 100 a second).
            Schedule = configured.Schedule with { BatchSize = settings.Batch, Steps = (int)Math.Clamp(settings.Minutes * 60 * 100, 10_000, 10_000_000) },
            Loop = configured.Loop with { CheckpointEvery = 0, ProgressEvery = 100 },
        };
        var run = new RunSpec($"soak-{DateTime.UtcNow:yyyyMMdd-HHmmss}", kafka.Endpoint, output, upstream, BitActorsConfig.FineTune(config), []);
        var outcome = new TaskCompletionSource<RunCompleted>(TaskCreationOptions.RunContinuationsAsynchronously);
        var metrics = Path.Combine(output, "metrics.jsonl");
        host.StartRun(run, RunReporter.Props(outcome, metrics));

        var duration = TimeSpan.FromMinutes(settings.Minutes);
        var interval = TimeSpan.FromSeconds(settings.Interval ?? Math.Clamp(duration.TotalSeconds / 60, 1, 30));
        var clock = Stopwatch.StartNew();
        var samples = new List<MemorySample>();
        while (clock.Elapsed < duration)
        {
            var failed = await Task.WhenAny(outcome.Task, Task.Delay(interval, cancellationToken)) == outcome.Task;
            if (failed) await outcome.Task; // a run that ends early (it failed) ends the soak with its reason
            var sample = MemorySample.Now(clock.Elapsed);
            samples.Add(sample);
            Log.Information("[soak] {Minutes:F1} min: RSS {Rss:F0} MB, managed heap {Heap:F1} MB", sample.Minutes, sample.RssMb, sample.ManagedHeapMb);
        }
        var steps = File.Exists(metrics) ? File.ReadLines(metrics).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt32()).DefaultIfEmpty(0).Max() : 0;
        await host.StopAsync();
        Directory.Delete(output, recursive: true);

        var fitted = MemoryTrend.AfterWarmup(samples, settings.WarmupFraction);
        double rssSlope = MemoryTrend.RssSlope(fitted), heapSlope = MemoryTrend.ManagedHeapSlope(fitted);
        double rssError = MemoryTrend.SlopeStandardError(MemoryTrend.Rss(fitted)), heapError = MemoryTrend.SlopeStandardError(MemoryTrend.ManagedHeap(fitted));
        bool rssFlat = MemoryTrend.IsFlat(rssSlope, rssError, settings.MaxSlope), heapFlat = MemoryTrend.IsFlat(heapSlope, heapError, settings.MaxSlope);
        var result = new
        {
            bench = "soak", arch = settings.Arch, batch = settings.Batch, resolution = settings.Resolution, images_per_epoch = data.Splits[0].Images.Count,
            minutes = Math.Round(clock.Elapsed.TotalMinutes, 2), interval_seconds = interval.TotalSeconds, steps_reported = steps,
            // The malloc arena cap in force: set by MallocArenas, from MALLOC_ARENA_MAX, or glibc's default.
            malloc_arenas = MallocArenas.Describe(),
            samples = samples.Count, fitted_samples = fitted.Count, warmup_fraction = settings.WarmupFraction,
            rss_mb = new { first = Math.Round(samples[0].RssMb, 1), last = Math.Round(samples[^1].RssMb, 1), max = Math.Round(samples.Max(s => s.RssMb), 1) },
            managed_heap_mb = new { first = Math.Round(samples[0].ManagedHeapMb, 2), last = Math.Round(samples[^1].ManagedHeapMb, 2), max = Math.Round(samples.Max(s => s.ManagedHeapMb), 2) },
            rss_slope_mb_per_min = Math.Round(rssSlope, 3), rss_slope_stderr = Math.Round(rssError, 3),
            managed_heap_slope_mb_per_min = Math.Round(heapSlope, 3), managed_heap_slope_stderr = Math.Round(heapError, 3),
            max_slope_mb_per_min = settings.MaxSlope, rss_flat = rssFlat, managed_heap_flat = heapFlat, flat = rssFlat && heapFlat,
            series = samples.Select(s => new[] { Math.Round(s.Minutes, 3), Math.Round(s.RssMb, 1), Math.Round(s.ManagedHeapMb, 2) }),
        };
        if (settings.Json) console.WritePlainLine(JsonSerializer.Serialize(result, Json.Options));
        else
        {
            console.MarkupLineInterpolated($"{result.minutes:F1} min, {steps:N0} steps of {settings.Arch} (batch {settings.Batch}), {samples.Count} samples");
            console.MarkupLineInterpolated($"RSS {result.rss_mb.first:F0} → {result.rss_mb.last:F0} MB, slope {rssSlope:F2} ± {rssError:F2} MB/min ({(rssFlat ? "flat" : "GROWING")})");
            console.MarkupLineInterpolated($"live managed heap {result.managed_heap_mb.first:F1} → {result.managed_heap_mb.last:F1} MB, slope {heapSlope:F3} ± {heapError:F3} MB/min ({(heapFlat ? "flat" : "GROWING")})");
        }
        return rssFlat && heapFlat ? 0 : 3;
    }

    private async Task<int> SoakTasksAsync(Settings settings, int tasks, CancellationToken cancellationToken)
    {
        var options = new TaskSoak.Options(tasks, settings.SampleEvery ?? Math.Max(1, tasks / 20), settings.StepsPerTask, settings.Arch,
            settings.Resolution, settings.Limit == 6000 ? 200 : settings.Limit, settings.Source ?? FashionMnistSetup.EnsureInstalled());
        var result = await TaskSoak.RunAsync(options, cancellationToken);
        var report = TaskSoakReport.Of(result, options, settings.MaxTaskSlope, out var flat);
        if (settings.Json) console.WritePlainLine(JsonSerializer.Serialize(report, Json.Options));
        else
        {
            var (first, last) = (result.Samples[0], result.Samples[^1]);
            console.MarkupLineInterpolated($"{result.Run.Completed.Count} of {tasks} tasks completed ({result.Run.Failed.Count} failed) in {result.Elapsed.TotalMinutes:F1} min, {result.Samples.Count} samples");
            console.MarkupLineInterpolated($"RSS {first.RssMb:F0} → {last.RssMb:F0} MB, live managed heap {first.ManagedHeapMb:F1} → {last.ManagedHeapMb:F1} MB ({(flat ? "flat" : "GROWING")})");
        }
        return result.Run.Failed.Count > 0 ? 2 : flat ? 0 : 3;
    }
}
