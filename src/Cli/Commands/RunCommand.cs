using Akka.Actor;
using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using BitActors.Actors;
using BitActors.Actors.FineTuning;
using BitActors.Actors.Hosting;
using BitActors.Actors.Telemetry;
using BitActors.Actors.Training;
using BitActors.Cli.Terminal;
using BitActors.Cli.Reports;
using BitActors.Model.Architecture;
using BitActors.Model.Recipe;
using BitActors.Streams.Datasets;
using BitActors.Streams.Pipelines;
using Serilog;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BitActors.Cli.Commands;

/// <summary>
/// A run on datasets already published to Kafka: the configured upstream pre-training, or a given backbone
/// (<c>--backbone</c>: Google's BiT .npz, timm safetensors, or a native checkpoint), then one fine-tune task
/// per (shots, seed), each with the HyperRule; events on bit.models, metrics in the run folder.
/// </summary>
public sealed class RunCommand(IAnsiConsole console) : AsyncCommand<RunCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--bootstrap-servers <SERVERS>")]
        [Description("The Kafka holding the published datasets (required: see `kafka up` and `publish`).")]
        public string BootstrapServers { get; init; } = "";

        [CommandOption("--config <FILE>")]
        [Description("HOCON file overriding hocon/bitactors.conf (upstream and fine-tune settings).")]
        public string? Config { get; init; }

        [CommandOption("--set <KEY=VALUE>")]
        [Description("Override one configuration key, e.g. --set bitactors.upstream.steps=200 (repeatable; over --config and BITACTORS__* environment variables).")]
        public string[] Set { get; init; } = [];

        [CommandOption("--backbone <CKPT>")]
        [Description("Skip upstream: fine-tune from this checkpoint (.npz in Google's BiT layout, .safetensors with timm's names, or native).")]
        public string? Backbone { get; init; }

        [CommandOption("--arch <ARCH>")]
        [Description("Architecture of --backbone: read from the file (its metadata, or for Google's .npz its arrays' shapes); given, it must agree.")]
        public string? Arch { get; init; }

        [CommandOption("--channels <C>")]
        [Description("Input channels of --backbone: read from the file; given, they must agree. The model keeps the backbone's channels and images are converted to them (a gray image fed to all three channels of an RGB backbone).")]
        public int? Channels { get; init; }

        [CommandOption("--dataset <NAME,…>")]
        [Description("The published dataset(s) of the downstream tasks, comma-separated: each with every class, all their tasks fanned out together (this or --suite is required).")]
        public string Dataset { get; init; } = "";

        [CommandOption("--suite <FILE>")]
        [Description("A suite file (HOCON, a suite object with a list of datasets; docs/configuration.md): per dataset its name, classes, shots, seeds and max-steps; entries without shots or seeds take --shots and --seeds.")]
        public string? Suite { get; init; }

        [CommandOption("--classes <IDS>")]
        [Description("Class ids of the downstream task, comma-separated (default: every class of the dataset); with one --dataset only.")]
        public string? Classes { get; init; }

        [CommandOption("--shots <K,…>")]
        [Description("Examples per class, comma-separated; 0 or 'all' = all (default 0).")]
        [DefaultValue("0")]
        public string Shots { get; init; } = "0";

        [CommandOption("--seeds <S,…>")]
        [Description("Seeds of the few-shot draws and of training (default 0).")]
        [DefaultValue("0")]
        public string Seeds { get; init; } = "0";

        [CommandOption("--vtab-1k")]
        [Description("The VTAB-1k protocol instead of shots: each task draws 1,000 training examples with its seed, trains on 800 and validates on 200; the test split gives its top-1 (a suite's dataset may name its own protocol).")]
        public bool Vtab1k { get; init; }

        [CommandOption("--scratch")]
        [Description("Also train every task from scratch, for comparison.")]
        public bool Scratch { get; init; }

        [CommandOption("--device <DEVICE>")]
        [Description(DeviceOption.Help + " (default: bitactors.device, auto).")]
        public string? Device { get; init; }

        [CommandOption("--resume <CKPT>")]
        [Description("Continue the upstream run from a training checkpoint (written at phase changes, every bitactors.upstream.checkpoint-every steps, or on SIGINT/SIGTERM); same settings needed.")]
        public string? Resume { get; init; }

        [CommandOption("--output <DIR>")]
        [Description("Folder for checkpoints and metrics (default: bitactors.output-dir).")]
        public string? Output { get; init; }

        [CommandOption("--metrics-port <PORT>")]
        [Description(MetricsPortOption.Help + ".")]
        public int? MetricsPort { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(BootstrapServers) ? ValidationResult.Error("--bootstrap-servers is required: the datasets must already be published there")
            : string.IsNullOrWhiteSpace(Dataset) && Suite is null ? ValidationResult.Error("--dataset NAME (or NAME,NAME,…) or --suite FILE is required")
            : !string.IsNullOrWhiteSpace(Dataset) && Suite is not null ? ValidationResult.Error("--dataset and --suite both name the datasets: give one of them")
            : Vtab1k && Shots != "0" ? ValidationResult.Error("--vtab-1k draws 1,000 examples per task: --shots does not apply")
            : Suite is not null && !File.Exists(Suite) ? ValidationResult.Error($"--suite: file not found: {Suite}")
            : Classes is not null && (Suite is not null || Dataset.Contains(',')) ? ValidationResult.Error(
                "--classes is for a single --dataset: with several, each is trained on all its classes; give each its classes in a --suite file")
            : Backbone is not null && !File.Exists(Backbone) ? ValidationResult.Error($"--backbone: checkpoint not found: {Backbone}")
            : Resume is not null && !File.Exists(Resume) ? ValidationResult.Error($"--resume: checkpoint not found: {Resume}")
            : Resume is not null && Backbone is not null ? ValidationResult.Error("--resume continues an upstream run; with --backbone there is none")
            : MetricsPortOption.Validate(MetricsPort) is { Successful: false } metrics ? metrics
            : DeviceOption.Validate(Device);
    }

    private static int[] Numbers(string text, string option) => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(t => int.TryParse(t, out var v) && v >= 0 ? v : throw new InvalidDataException($"{option}: '{t}' is not a number")).ToArray();

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var wall = Stopwatch.StartNew();
        var config = BitActorsConfig.Load(settings.Config, settings.Set);
        using var metrics = MetricsPortOption.Serve(settings.MetricsPort);
        using var kafka = KafkaConnection.Open(settings.BootstrapServers, config);
        void Warn(string note) => Log.Warning("{Note}", note);
        var (shots, seeds) = (TaskPlan.ParseShots([settings.Shots], "--shots", Warn), TaskPlan.ParseSeeds([settings.Seeds], "--seeds", Warn));
        var suite = settings.Suite is { } file ? TransferSuite.ReadFile(file, shots, seeds, settings.Vtab1k)
            : TransferSuite.OfNames(settings.Dataset, shots, seeds, vtab1k: settings.Vtab1k);
        var manifests = new Dictionary<string, DatasetManifest>();
        DatasetManifest? ManifestOf(string name) => DatasetCatalog.TryRead(kafka.Endpoint, name) is { } m ? manifests[name] = m : null;
        IReadOnlyList<FineTuneTask> tasks;
        if (settings.Suite is null && !suite.IsSeveral && settings.Classes is not null)
        {
            var manifest = ManifestOf(settings.Dataset) ?? throw new InvalidDataException(
                $"--dataset: dataset '{settings.Dataset}' is not published at {kafka.Endpoint}: run `bitactors publish --dataset {settings.Dataset} …` first");
            var classes = new ClassSubset(TaskPlan.Collapse(Numbers(settings.Classes, "--classes"), "--classes", c => c.ToString(), Warn));
            // Refused now, not after an upstream run or in a task that would wait forever for a batch.
            TrainingPreconditions.Check(manifest, classes, "--classes");
            tasks = new TaskPlan(settings.Dataset, classes, shots, seeds) { Scratch = settings.Scratch, Vtab1k = settings.Vtab1k }.Tasks();
        }
        else // every dataset checked (published, its splits and classes) before any training
            tasks = suite.Tasks(ManifestOf, settings.Scratch, settings.Suite is null ? "--dataset" : $"--suite {settings.Suite}: dataset", kafka.Endpoint.ToString());

        var upstream = BitActorsConfig.Upstream(config);
        if (settings.Backbone is null && string.IsNullOrWhiteSpace(upstream.Data.Dataset))
            throw new InvalidDataException("nothing to fine-tune from: give --backbone CKPT (e.g. Google's BiT-M-R50x1.npz), or name the upstream dataset to pre-train on (--set bitactors.upstream.dataset=NAME)");
        var runId = $"run-{DateTime.UtcNow:yyyyMMdd-HHmmss}";
        var output = Path.GetFullPath(Path.Combine(settings.Output ?? config.GetString("bitactors.output-dir"), runId));
        GivenBackbone? backbone = null;
        if (settings.Backbone is not null)
        {
            (backbone, var info) = GivenBackbone.Of(settings.Backbone, settings.Arch, settings.Channels);
            Log.Information("backbone {Path}: {Arch} ({Norm}, {Channels} input channel(s)), from {Source}", settings.Backbone, backbone.Arch,
                ResNetV2Config.LabelOf(backbone.Norm, backbone.WeightStandardization), backbone.InChannels, info.Source);
            foreach (var manifest in manifests.Values)
            {
                var (_, note) = InputChannels.For(backbone.InChannels, manifest.ImageSize.Channels, null, Path.GetFileName(settings.Backbone), manifest.Name);
                if (note is not null) Log.Information("{Rule}", note);
            }
        }
        var run = new RunSpec(runId, kafka.Endpoint, output, upstream, BitActorsConfig.FineTune(config, null, backbone?.InChannels ?? upstream.Data.Augment.Channels),
            tasks, ResumeFrom: settings.Resume is null ? null : Path.GetFullPath(settings.Resume), Device: DeviceOption.Resolve(settings.Device, config), Backbone: backbone);

        using var host = BitActorsHost.Start(config, "run");
        var (done, exitCode) = await RunSession.RunAsync(host, run, console, cancellationToken);
        await host.StopAsync();
        if (done is not { } completed) return exitCode;

        var table = new Table().AddColumns("task", "dataset", "init", "shots", "seed", "examples", "steps", "test top-1", "checkpoint");
        foreach (var c in completed.Completed)
            table.AddRow(c.Task.Name, Markup.Escape(c.Task.Dataset), c.Task.FromScratch ? "scratch" : "backbone", c.Task.Shots?.ToString() ?? "all", c.Task.Seed.ToString(),
                c.Examples.ToString(), c.Steps.ToString(), c.Test.Top1.ToString("P2"), Markup.Escape(c.Checkpoint.Path));
        foreach (var f in completed.Failed) table.AddRow(f.Task.Name, Markup.Escape(f.Task.Dataset), "[red]failed[/]", "", "", "", "", "", Markup.Escape(f.Reason));
        console.Write(table);
        foreach (var s in completed.Summaries) console.WriteLine($"{s.Group}: median top-1 {s.MedianTop1:P2} over {s.PerSeed.Count} seed(s)");
        console.WriteLine($"run {runId}: {completed.Completed.Count} task(s) done, {completed.Failed.Count} failed, {wall.Elapsed.TotalSeconds:F0} s");
        if (suite.IsSeveral) SuiteReport.Print(console, SuiteReport.Of(completed.Completed));
        console.WritePlainLine($"run folder: {output} ({RunFolder.SummaryFile}, {(suite.IsSeveral ? $"{SuiteReport.Folder}/, " : "")}{MetricsLog.File}, {RunPlots.Folder}/, {Logging.RunLogFile}, checkpoints/)");
        return completed.Failed.Count == 0 ? 0 : 2;
    }
}
