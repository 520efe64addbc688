using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using Akka.Streams;
using BitActors.Actors;
using BitActors.Actors.Hosting;
using BitActors.Cli.Terminal;
using BitActors.Streams.Datasets;
using BitActors.Streams.Images;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;
using Serilog;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BitActors.Cli.Commands;

/// <summary>
/// The whole upstream pipeline timed end to end: Fashion-MNIST published to the embedded broker, then
/// Kafka → decode → augment → shuffle → batch → trainer actor, on cpu or cuda. Reports images/s and how
/// long the trainer waits for data per step, after the warmup steps.
/// </summary>
public sealed class BenchUpstreamCommand(IAnsiConsole console) : AsyncCommand<BenchUpstreamCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--device <DEVICE>")]
        [Description(DeviceOption.Help + " (default auto).")]
        [DefaultValue("auto")]
        public string Device { get; init; } = "auto";

        [CommandOption("--arch <ARCH>")]
        [Description("Architecture (default R50x1).")]
        [DefaultValue("R50x1")]
        public string Arch { get; init; } = "R50x1";

        [CommandOption("--resolution <PX>")]
        [Description("Crop size; images are resized to 1.25× it first, as BiT's 160/128 (default 128).")]
        [DefaultValue(128)]
        public int Resolution { get; init; } = 128;

        [CommandOption("--batch <N>")]
        [Description("Batch size (default 128).")]
        [DefaultValue(128)]
        public int Batch { get; init; } = 128;

        [CommandOption("--steps <N>")]
        [Description("Training steps (default 200).")]
        [DefaultValue(200)]
        public int Steps { get; init; } = 200;

        [CommandOption("--warmup <N>")]
        [Description("Steps left out of the figures (default 20; rounded up to a multiple of 10).")]
        [DefaultValue(20)]
        public int Warmup { get; init; } = 20;

        [CommandOption("--decode-parallelism <N>")]
        [Description("Images decoded and augmented at once (default: the number of cores less two, left to the trainer and the stream).")]
        public int? DecodeParallelism { get; init; }

        [CommandOption("--source <DIR>")]
        [Description("Folder of the Fashion-MNIST IDX files (default: the Debian package's).")]
        public string? Source { get; init; }

        [CommandOption("--limit <N>")]
        [Description("Publish at most N images per split (default: all).")]
        public int? Limit { get; init; }

        [CommandOption("--output <DIR>")]
        [Description("Folder for the run's checkpoint and metrics.jsonl (default: a temporary folder).")]
        public string? Output { get; init; }

        [CommandOption("--json")]
        [Description("Print one JSON object.")]
        public bool Json { get; init; }

        public override ValidationResult Validate() =>
            Steps <= Warmup + 10 ? ValidationResult.Error("--steps must exceed --warmup by more than 10")
            : Batch < 1 || Resolution < 16 ? ValidationResult.Error("--batch must be positive and --resolution at least 16")
            : DeviceOption.Validate(Device);
    }

    private sealed record Interval(int Step, double ImagesPerSecond, double StepSeconds, double DataWaitSeconds);

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var wall = Stopwatch.StartNew();
        var config = BitActorsConfig.Load(null, demo: true); // Fashion-MNIST: the demo's profile
        var device = DeviceOption.Resolve(settings.Device);
        var source = settings.Source ?? FashionMnistSetup.EnsureInstalled();
        using var kafka = KafkaConnection.Open(null, config, config.GetInt("bitactors.kafka.embedded-brokers"));
        using var host = BitActorsHost.Start(config, "bench");
        var data = IdxDataset.Load("fashion-mnist", source, IdxDataset.FashionMnistClasses, settings.Limit);
        var published = await new DatasetPublisher(kafka.Admin, host.System.Materializer()).PublishAsync(data, cancellationToken);
        var publishSeconds = wall.Elapsed.TotalSeconds;
        Log.Information("[bench] published {Records:N0} records in {Seconds:F1} s", published.Manifest.Splits.Sum(s => s.Records), publishSeconds);

        var output = settings.Output ?? Directory.CreateTempSubdirectory("bitactors-bench").FullName;
        var configured = BitActorsConfig.Upstream(config);
        var upstream = configured with
        {
            Data = configured.Data with
            {
                Dataset = "fashion-mnist", Classes = ClassSubset.Range(0, 10), Augment = new AugmentSettings(settings.Resolution * 5 / 4, settings.Resolution, 1),
                DecodeParallelism = settings.DecodeParallelism ?? Math.Max(1, Environment.ProcessorCount - 2),
            },
            Model = configured.Model with { Arch = settings.Arch },
            Schedule = configured.Schedule with { BatchSize = settings.Batch, Steps = settings.Steps },
            Loop = configured.Loop with { ProgressEvery = 10, CheckpointEvery = 0 },
        };
        var fineTune = BitActorsConfig.FineTune(config);
        var run = new RunSpec($"bench-{DateTime.UtcNow:yyyyMMdd-HHmmss}", kafka.Endpoint, output, upstream, fineTune, [], Device: device);
        var outcome = new TaskCompletionSource<RunCompleted>(TaskCreationOptions.RunContinuationsAsynchronously);
        var metrics = Path.Combine(output, "metrics.jsonl");
        var trainingClock = Stopwatch.StartNew();
        host.StartRun(run, RunReporter.Props(outcome, metrics));
        var completed = await outcome.Task.WaitAsync(cancellationToken);
        var trainingSeconds = trainingClock.Elapsed.TotalSeconds;
        await host.StopAsync();

        var intervals = File.ReadLines(metrics).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("task").GetString() == "upstream")
            .Select(e => new Interval(e.GetProperty("step").GetInt32(), e.GetProperty("images_per_second").GetDouble(),
                e.GetProperty("step_seconds").GetDouble(), e.GetProperty("data_wait_seconds").GetDouble()))
            .Where(i => i.Step > settings.Warmup).ToList();
        if (intervals.Count == 0) throw new InvalidOperationException("no progress was reported after the warmup steps");
        double stepSeconds = intervals.Average(i => i.StepSeconds), waitSeconds = intervals.Average(i => i.DataWaitSeconds);
        var result = new
        {
            bench = "upstream", impl = "bitactors", arch = settings.Arch, device, batch = settings.Batch, resolution = settings.Resolution,
            steps = settings.Steps, warmup = settings.Warmup, decode_parallelism = upstream.Data.DecodeParallelism, cores = Environment.ProcessorCount,
            images_per_second = Math.Round(intervals.Average(i => i.ImagesPerSecond), 1),
            step_ms = Math.Round(stepSeconds * 1000, 2), data_wait_ms = Math.Round(waitSeconds * 1000, 2),
            data_wait_fraction = Math.Round(waitSeconds / Math.Max(1e-9, stepSeconds), 4),
            publish_seconds = Math.Round(publishSeconds, 1), training_seconds = Math.Round(trainingSeconds, 1),
            final_loss = completed.Backbone.FinalLoss, test_top1 = completed.Backbone.UpstreamTest.Top1,
        };
        if (settings.Json) console.WritePlainLine(JsonSerializer.Serialize(result, Json.Options));
        else
        {
            console.MarkupLineInterpolated($"{settings.Arch} on {device}, batch {settings.Batch} at {settings.Resolution} px: {result.images_per_second:F0} img/s end to end");
            console.MarkupLineInterpolated($"step {result.step_ms:F1} ms, data wait {result.data_wait_ms:F2} ms per step ({result.data_wait_fraction:P1} of the step time)");
        }
        return 0;
    }
}
