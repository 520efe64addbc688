using Akka.Actor;
using System.ComponentModel;
using System.Diagnostics;
using Akka.Configuration;
using Akka.Streams;
using BitActors.Actors;
using BitActors.Actors.Hosting;
using BitActors.Actors.Training;
using BitActors.Cli.Console;
using BitActors.Cli.Demo;
using BitActors.Cli.Reports;
using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;
using Serilog;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BitActors.Cli.Commands;

public sealed class DemoCommand : AsyncCommand<DemoCommand.Settings>
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
        [Description("Examples per class of the downstream tasks, comma-separated, 'all' for every example (default: bitactors.demo.shots, 1,5,10,all).")]
        public string? Shots { get; init; }

        [CommandOption("--seeds <S,…>")]
        [Description("Seeds of the few-shot draws and of training, comma-separated (default: bitactors.demo.seeds). With several, the table gives the median.")]
        public string? Seeds { get; init; }

        [CommandOption("--device <DEVICE>")]
        [Description("Where trainers run: cpu, cuda or cuda:N (default: bitactors.device).")]
        public string? Device { get; init; }

        [CommandOption("--resume <CKPT>")]
        [Description("Continue the upstream run from a training checkpoint (written with bitactors.upstream.checkpoint-every); same settings needed.")]
        public string? Resume { get; init; }

        [CommandOption("--output <DIR>")]
        [Description("Folder for checkpoints and the report (default: bitactors.output-dir).")]
        public string? Output { get; init; }

        public override ValidationResult Validate() =>
            Device is null or "cpu" || Device == "cuda" || (Device.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(Device[5..], out _))
                ? ValidationResult.Success()
                : ValidationResult.Error($"--device must be cpu, cuda or cuda:N, not '{Device}'");
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var wall = Stopwatch.StartNew();
        var config = BitActorsConfig.Load(settings.Config, settings.Set);
        var source = settings.Source ?? FashionMnistSetup.EnsureInstalled();
        const string dataset = "fashion-mnist";

        using var kafka = KafkaConnection.Open(settings.BootstrapServers ?? config.GetString("bitactors.kafka.bootstrap-servers"),
            config.GetInt("bitactors.kafka.embedded-brokers"));
        var run = Spec(config, settings, kafka.BootstrapServers);
        foreach (var topic in new[] { Topics.Models, Topics.DeadLetter })
            await kafka.Admin.EnsureTopicAsync(new TopicSpec(topic, 1), cancellationToken);

        using var host = BitActorsHost.Start(config, "demo");
        var system = host.System;
        Log.Information("[publish] reading Fashion-MNIST from {Source}", source);
        var data = IdxDataset.Load(dataset, source, IdxDataset.FashionMnistClasses);
        var published = await ProgressDisplay.RunAsync(display =>
            new DatasetPublisher(kafka.Admin, system.Materializer(), new Progress<PublishProgress>(display.Show)).PublishAsync(data, cancellationToken));
        foreach (var split in published.Manifest.Splits)
            Log.Information("[publish] {Topic}: {Records:N0} records in {Partitions} partitions, verified", split.Topic, split.Records, split.Partitions);

        Log.Information("[demo] {Tasks} downstream tasks: {Groups}", run.Tasks.Count,
            string.Join(", ", run.Tasks.GroupBy(t => t.GroupName).Select(g => $"{g.Key} × {g.Count()} seeds")));
        var (done, exitCode) = await RunSession.RunAsync(host, run, cancellationToken);
        if (done is not { } completed)
        {
            await host.StopAsync();
            return exitCode;
        }

        var events = ModelEventsReader.CountByType(kafka.BootstrapServers, run.RunId);
        await host.StopAsync();
        var report = new DemoReport(completed, run, dataset, IdxDataset.FashionMnistClasses, wall.Elapsed, events,
            string.Join(' ', new[] { "bitactors" }.Concat(Environment.GetCommandLineArgs().Skip(1))));
        var folder = report.Write(run.OutputDir);

        AnsiConsole.Write(report.ToTable());
        foreach (var line in report.Comparisons()) AnsiConsole.WriteLine(line);
        AnsiConsole.WriteLine($"upstream: {completed.Backbone.Arch} on classes {run.Upstream.Classes}, {completed.Backbone.Steps} steps, " +
            $"test top-1 {completed.Backbone.UpstreamTest.Top1:P2} ({completed.Backbone.UpstreamTest.Examples} images), {completed.Backbone.Elapsed.TotalSeconds:F0} s");
        AnsiConsole.WriteLine($"bit.models: {string.Join(", ", events.Select(e => $"{e.Value} × {e.Key}"))}");
        AnsiConsole.WriteLine($"report: {Path.Combine(folder, DemoReport.MarkdownFile)}, {DemoReport.ResultsFile}, {DemoReport.PlotFile}  (wall time {wall.Elapsed.TotalSeconds:F0} s)");
        global::System.Console.Out.WriteLine($"run folder: {run.OutputDir} ({RunFolder.SummaryFile}, {MetricsLog.File}, {RunPlots.Folder}/, {Logging.RunLogFile}, checkpoints/)");
        return completed.Failed.Count == 0 ? 0 : 2;
    }

    private static RunSpec Spec(Config config, Settings settings, string bootstrapServers)
    {
        var runId = $"demo-{DateTime.UtcNow:yyyyMMdd-HHmmss}";
        var output = Path.GetFullPath(Path.Combine(settings.Output ?? config.GetString("bitactors.output-dir"), runId));
        var upstream = BitActorsConfig.Upstream(config);
        if (settings.Steps is int steps) upstream = upstream with { Steps = steps };
        var fineTune = BitActorsConfig.FineTune(config, config.GetConfig("bitactors.demo.finetune"), upstream.Augment.Channels);
        var classes = new ClassSubset(config.GetIntList("bitactors.demo.downstream-classes").ToArray());
        var shots = DemoPlan.ParseShots(settings.Shots is { } k ? [k] : config.GetStringList("bitactors.demo.shots"));
        var seeds = DemoPlan.ParseSeeds(settings.Seeds is { } text ? [text] : config.GetStringList("bitactors.demo.seeds"));
        var allSeeds = DemoPlan.ParseSeeds(config.GetStringList("bitactors.demo.all-examples-seeds"));
        var tasks = DemoPlan.Tasks("fashion-mnist", classes, shots, seeds, allSeeds);
        if (settings.Resume is not null && !File.Exists(settings.Resume)) throw new FileNotFoundException($"--resume: checkpoint not found: {settings.Resume}");
        return new RunSpec(runId, bootstrapServers, output, upstream, fineTune, tasks, settings.Resume is null ? null : Path.GetFullPath(settings.Resume),
            settings.Device ?? config.GetString("bitactors.device"));
    }
}
