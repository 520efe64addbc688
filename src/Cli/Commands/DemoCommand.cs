using Akka.Actor;
using System.ComponentModel;
using System.Diagnostics;
using Akka.Configuration;
using Akka.Streams;
using BitActors.Actors;
using BitActors.Actors.FineTuning;
using BitActors.Actors.Hosting;
using BitActors.Actors.Telemetry;
using BitActors.Actors.Training;
using BitActors.Cli.Terminal;
using BitActors.Cli.Demo;
using BitActors.Cli.Reports;
using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;
using Serilog;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BitActors.Cli.Commands;

public sealed class DemoCommand(IAnsiConsole console) : AsyncCommand<DemoCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--config <FILE>")]
        [Description("HOCON file overriding hocon/bitactors.conf.")]
        public string? Config { get; init; }

        [CommandOption("--set <KEY=VALUE>")]
        [Description("Override one configuration key, e.g. --set bitactors.upstream.steps=200 (repeatable; over --config and BITACTORS__* environment variables).")]
        public string[] Set { get; init; } = [];

        [CommandOption("--bootstrap-servers <SERVERS>")]
        [Description("Use this Kafka instead of the embedded broker.")]
        public string? BootstrapServers { get; init; }

        [CommandOption("--source <DIR>")]
        [Description("Folder of the Fashion-MNIST IDX files (default: the Debian package's, installed when missing and running as root).")]
        public string? Source { get; init; }

        [CommandOption("--steps <N>")]
        [Description("Upstream steps (default: bitactors.upstream.steps).")]
        public int? Steps { get; init; }

        [CommandOption("--shots <K,…>")]
        [Description("Examples per class of the downstream tasks, comma-separated, 'all' (or 0) for every example (default: bitactors.demo.shots, 1,5,10,all).")]
        public string? Shots { get; init; }

        [CommandOption("--seeds <S,…>")]
        [Description("Seeds of the few-shot draws and of training, comma-separated (default: bitactors.demo.seeds). With several, the table gives the median.")]
        public string? Seeds { get; init; }

        [CommandOption("--device <DEVICE>")]
        [Description("Where trainers run: " + DeviceOption.Help + " (default: bitactors.device, auto).")]
        public string? Device { get; init; }

        [CommandOption("--resume <CKPT>")]
        [Description("Continue the upstream run from a training checkpoint (written with bitactors.upstream.checkpoint-every); same settings needed.")]
        public string? Resume { get; init; }

        [CommandOption("--study <NAME>")]
        [Description("A study instead of the main job: 'norm' pre-trains with GN+WS, GN, BN+WS and BN at a small per-device batch and transfers each to the same task, once per seed (bitactors.demo.study-norm); " +
            "'scale' pre-trains on 10/30/100 % of the upstream images and a wider model, and transfers each to the few-shot tasks (bitactors.demo.study-scale).")]
        public string? Study { get; init; }

        [CommandOption("--full")]
        [Description("Instead of the few-shot tasks: fine-tune on the full Fashion-MNIST task (all 10 classes, all 60,000 training images) with the HyperRule (bitactors.demo.full).")]
        public bool Full { get; init; }

        [CommandOption("--backbone <CKPT>")]
        [Description("Skip upstream: transfer this backbone (e.g. an earlier demo's upstream checkpoint; its architecture and norm are the configured upstream's).")]
        public string? Backbone { get; init; }

        [CommandOption("--output <DIR>")]
        [Description("Folder for checkpoints and the report (default: bitactors.output-dir).")]
        public string? Output { get; init; }

        [CommandOption("--metrics-port <PORT>")]
        [Description(MetricsPortOption.Help + ".")]
        public int? MetricsPort { get; init; }

        public override ValidationResult Validate()
        {
            if (DeviceOption.Validate(Device) is { Successful: false } device) return device;
            if (MetricsPortOption.Validate(MetricsPort) is { Successful: false } metrics) return metrics;
            if (Study is not null && Study is not ("norm" or "scale")) return ValidationResult.Error($"--study: the studies are 'norm' and 'scale', not '{Study}'");
            if (Study is not null && (Full || Backbone is not null || Resume is not null || Shots is not null || Seeds is not null))
                return ValidationResult.Error(Study == "norm"
                    ? "--study norm trains its own backbones (four per seed of bitactors.demo.study-norm.seeds): it takes no --full, --backbone, --resume, --shots or --seeds"
                    : $"--study {Study} trains its own backbones: it takes no --full, --backbone, --resume, --shots or --seeds (see bitactors.demo.study-{Study})");
            if (Full && Shots is not null) return ValidationResult.Error("--full trains on every example: it takes no --shots");
            if (Backbone is not null && (Resume is not null || Steps is not null)) return ValidationResult.Error("--backbone skips upstream: it takes no --resume or --steps");
            return ValidationResult.Success();
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var wall = Stopwatch.StartNew();
        var config = BitActorsConfig.Load(settings.Config, settings.Set, demo: true);
        using var metrics = MetricsPortOption.Serve(settings.MetricsPort);
        var source = settings.Source ?? FashionMnistSetup.EnsureInstalled();
        const string dataset = "fashion-mnist";

        using var kafka = KafkaConnection.Open(settings.BootstrapServers ?? config.GetString("bitactors.kafka.bootstrap-servers"),
            config, config.GetInt("bitactors.kafka.embedded-brokers"));
        var run = Spec(config, settings, kafka.Endpoint);
        var scale = settings.Study == "scale" ? ScaleSpecs(config, settings, kafka.Endpoint) : null;
        foreach (var topic in new[] { Topics.Models, Topics.DeadLetter })
            await kafka.Admin.EnsureTopicAsync(new TopicSpec(topic, 1), cancellationToken);

        using var host = BitActorsHost.Start(config, "demo");
        var system = host.System;
        Log.Information("[publish] reading Fashion-MNIST from {Source}", source);
        var data = IdxDataset.Load(dataset, source, IdxDataset.FashionMnistClasses);
        var published = await ProgressDisplay.RunAsync(display =>
            new DatasetPublisher(kafka.Admin, system.Materializer(), new Progress<PublishProgress>(display.Show)).PublishAsync(data, cancellationToken), console);
        foreach (var split in published.Manifest.Splits)
            Log.Information("[publish] {Topic}: {Records:N0} records in {Partitions} partitions, verified", split.Topic, split.Records, split.Partitions);

        if (scale is not null) return await ScaleStudyAsync(host, scale, wall, cancellationToken);
        if (settings.Study is not null) return await StudyAsync(host, config, settings, kafka.Endpoint, wall, cancellationToken);

        Log.Information("[demo] {Tasks} downstream tasks: {Groups}", run.Tasks.Count,
            string.Join(", ", run.Tasks.GroupBy(t => t.GroupName).Select(g => $"{g.Key} × {g.Count()} seeds")));
        var (done, exitCode) = await RunSession.RunAsync(host, run, console, cancellationToken);
        if (done is not { } completed)
        {
            await host.StopAsync();
            return exitCode;
        }

        var events = ModelEventsLog.ReadToEnd(kafka.Endpoint, TimeSpan.FromSeconds(10))
            .Where(e => e.TaskOf(run.RunId) is not null).CountBy(e => e.Type ?? "?").ToDictionary();
        await host.StopAsync();
        var report = new DemoReport(completed, run, dataset, IdxDataset.FashionMnistClasses, wall.Elapsed, events, CommandLine(),
            settings.Full ? FullTaskReferences : null);
        var folder = report.Write(run.OutputDir);

        console.Write(report.ToTable());
        foreach (var line in report.Comparisons()) console.WriteLine(line);
        if (completed.Backbone.Steps > 0)
            console.WriteLine($"upstream: {completed.Backbone.Arch} on classes {run.Upstream.Data.Classes}, {completed.Backbone.Steps} steps, " +
                $"test top-1 {completed.Backbone.UpstreamTest.Top1:P2} ({completed.Backbone.UpstreamTest.Examples} images), {completed.Backbone.Elapsed.TotalSeconds:F0} s");
        else console.WriteLine($"backbone: given, {completed.Backbone.Checkpoint.Path}");
        console.WriteLine($"bit.models: {string.Join(", ", events.Select(e => $"{e.Value} × {e.Key}"))}");
        console.WriteLine($"report: {Path.Combine(folder, DemoReport.MarkdownFile)}, {DemoReport.ResultsFile}, {DemoReport.PlotFile}  (wall time {wall.Elapsed.TotalSeconds:F0} s)");
        console.WritePlainLine($"run folder: {run.OutputDir} ({RunFolder.SummaryFile}, {MetricsLog.File}, {RunPlots.Folder}/, {Logging.RunLogFile}, checkpoints/)");
        return completed.Failed.Count == 0 ? 0 : 2;
    }

    /// <summary>Published results on the full Fashion-MNIST task, for the report of <c>--full</c> (the benchmark table of zalandoresearch/fashion-mnist).</summary>
    private static readonly IReadOnlyList<(string Model, double Top1)> FullTaskReferences = [("ResNet18", 0.949), ("WRN-28-10", 0.959)];

    private static string CommandLine() => string.Join(' ', new[] { "bitactors" }.Concat(Environment.GetCommandLineArgs().Skip(1)));

    private async Task<int> StudyAsync(BitActorsHost host, Config config, Settings settings, KafkaEndpoint kafka, Stopwatch wall,
        CancellationToken cancellationToken)
    {
        var studyId = $"study-norm-{DateTime.UtcNow:yyyyMMdd-HHmmss}";
        var folder = Path.GetFullPath(Path.Combine(settings.Output ?? config.GetString("bitactors.output-dir"), studyId));
        var specs = NormStudy.Specs(config, studyId, kafka, folder, DeviceOption.Resolve(settings.Device, config), settings.Steps);
        var results = new List<(NormStudy.Variant, int, RunSpec, RunCompleted)>();
        foreach (var (variant, seed, spec) in specs)
        {
            Log.Information("[study] {Variant} seed {Seed}: upstream {Steps} steps at per-device batch {Micro}, then {Tasks} transfer task(s) ({Done}/{Count})",
                variant.Label, seed, spec.Upstream.Schedule.Steps, spec.Upstream.Optimizer.MicroBatch, spec.Tasks.Count, results.Count + 1, specs.Count);
            var (done, exitCode) = await RunSession.RunAsync(host, spec, console, cancellationToken);
            if (done is null)
            {
                await host.StopAsync();
                return exitCode;
            }
            results.Add((variant, seed, spec, done));
            // Seed-major: after each complete seed the report holds every seed so far, so a study stopped later keeps them.
            if (results.Count < specs.Count && results.Count % NormStudy.Variants.Count == 0)
                new NormStudyReport(studyId, results, wall.Elapsed, CommandLine()).Write(folder);
        }
        await host.StopAsync();
        var report = new NormStudyReport(studyId, results, wall.Elapsed, CommandLine());
        report.Write(folder);
        console.Write(report.ToTable());
        console.WriteLine($"report: {Path.Combine(folder, NormStudyReport.MarkdownFile)}, {NormStudyReport.ResultsFile}, {NormStudyReport.PlotFile}  (wall time {wall.Elapsed.TotalSeconds:F0} s)");
        return results.All(r => r.Item4.Failed.Count == 0) ? 0 : 2;
    }

    /// <summary>The scale study's runs, made before anything is published so that a wrong setting ends at once.</summary>
    private static ScaleStudy.Plan ScaleSpecs(Config config, Settings settings, KafkaEndpoint kafka)
    {
        var studyId = $"study-scale-{DateTime.UtcNow:yyyyMMdd-HHmmss}";
        var folder = Path.GetFullPath(Path.Combine(settings.Output ?? config.GetString("bitactors.output-dir"), studyId));
        return new ScaleStudy.Plan(studyId, folder, ScaleStudy.Specs(config, studyId, kafka, folder, DeviceOption.Resolve(settings.Device, config), settings.Steps));
    }

    private async Task<int> ScaleStudyAsync(BitActorsHost host, ScaleStudy.Plan study,
        Stopwatch wall, CancellationToken cancellationToken)
    {
        var (done, exitCode) = await StudyRuns.RunAsync(host, study.Specs.Select(s => (s.Variant.Label, s.Spec)).ToList(), console, cancellationToken);
        await host.StopAsync();
        if (done is null) return exitCode;
        var report = new ScaleStudyReport(study.StudyId, study.Specs.Select((s, i) => (s.Variant, s.Spec, done[i])).ToList(), wall.Elapsed, CommandLine());
        report.Write(study.Folder);
        console.Write(report.ToTable());
        foreach (var comparison in report.Comparisons()) console.WriteLine(comparison.Sentence());
        console.WriteLine($"report: {Path.Combine(study.Folder, ScaleStudyReport.MarkdownFile)}, {ScaleStudyReport.ResultsFile}, {ScaleStudyReport.PlotFile}  (wall time {wall.Elapsed.TotalSeconds:F0} s)");
        return done.All(r => r.Failed.Count == 0) ? 0 : 2;
    }

    private static RunSpec Spec(Config config, Settings settings, KafkaEndpoint kafka)
    {
        var runId = $"demo{(settings.Full ? "-full" : "")}-{DateTime.UtcNow:yyyyMMdd-HHmmss}";
        var output = Path.GetFullPath(Path.Combine(settings.Output ?? config.GetString("bitactors.output-dir"), runId));
        var upstream = BitActorsConfig.Upstream(config);
        if (settings.Steps is int steps) upstream = upstream with { Schedule = upstream.Schedule with { Steps = steps } };
        IReadOnlyList<FineTuneTask> tasks;
        FineTuneSettings fineTune;
        if (settings.Full)
        {
            // The full task: every class, every training image, from the backbone (and from scratch when configured).
            var full = config.GetConfig("bitactors.demo.full");
            fineTune = BitActorsConfig.FineTune(config, full.GetConfig("finetune"), upstream.Data.Augment.Channels);
            var seeds = TaskPlan.ParseSeeds(settings.Seeds is { } s ? [s] : full.GetStringList("seeds"));
            tasks = new TaskPlan("fashion-mnist", new ClassSubset(Enumerable.Range(0, IdxDataset.FashionMnistClasses.Count).ToArray()), [null], seeds)
                { Scratch = full.GetBoolean("scratch"), SeedInEveryName = true }.Tasks();
        }
        else
        {
            fineTune = BitActorsConfig.FineTune(config, null, upstream.Data.Augment.Channels);
            var classes = new ClassSubset(config.GetIntList("bitactors.demo.downstream-classes").ToArray());
            var shots = TaskPlan.ParseShots(settings.Shots is { } k ? [k] : config.GetStringList("bitactors.demo.shots"), "--shots", m => Log.Warning("{Note}", m));
            var seeds = TaskPlan.ParseSeeds(settings.Seeds is { } text ? [text] : config.GetStringList("bitactors.demo.seeds"), "--seeds", m => Log.Warning("{Note}", m));
            var allSeeds = TaskPlan.ParseSeeds(config.GetStringList("bitactors.demo.all-examples-seeds"));
            tasks = new TaskPlan("fashion-mnist", classes, shots, seeds) { Scratch = config.GetBoolean("bitactors.demo.scratch"), AllExamplesSeeds = allSeeds, SeedInEveryName = true }.Tasks();
        }
        if (settings.Resume is not null && !File.Exists(settings.Resume)) throw new FileNotFoundException($"--resume: checkpoint not found: {settings.Resume}");
        if (settings.Backbone is not null && !File.Exists(settings.Backbone)) throw new FileNotFoundException($"--backbone: checkpoint not found: {settings.Backbone}");
        // The backbone says what it is (its metadata, or a Google .npz's arrays); the demo's images follow its channels.
        var backbone = settings.Backbone is null ? null : GivenBackbone.Of(Path.GetFullPath(settings.Backbone), null, null).Backbone;
        return new RunSpec(runId, kafka, output, upstream, fineTune, tasks, settings.Resume is null ? null : Path.GetFullPath(settings.Resume),
            DeviceOption.Resolve(settings.Device, config), backbone);
    }
}
