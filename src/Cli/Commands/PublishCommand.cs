using System.ComponentModel;
using Akka.Streams;
using BitActors.Actors.Hosting;
using BitActors.Cli.Terminal;
using BitActors.Streams.Datasets;
using Serilog;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BitActors.Cli.Commands;

public sealed class PublishCommand(IAnsiConsole console) : AsyncCommand<PublishCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--dataset <NAME>")]
        [Description("Dataset name: topics are bit.data.<NAME>.<split>. Required.")]
        public string Dataset { get; init; } = "";

        [CommandOption("--format <FORMAT>")]
        [Description("Source format: idx (MNIST-style files, plain or .gz), imagefolder (ROOT/[[split/]]class/image, bytes passed through), cifar10 or cifar100 (the binary versions).")]
        [DefaultValue("idx")]
        public string Format { get; init; } = "idx";

        [CommandOption("--source <PATH>")]
        [Description("Folder with the source files. Default for fashion-mnist: the Debian package's folder.")]
        public string? Source { get; init; }

        [CommandOption("--bootstrap-servers <SERVERS>")]
        [Description("Kafka to publish to. Default: an embedded broker that lives as long as this command.")]
        public string? BootstrapServers { get; init; }

        [CommandOption("--labels <FILE>")]
        [Description("imagefolder only: several labels per image (multi-label data). Lines 'PATH,LABELS' or 'PATH<TAB>LABELS': PATH relative to --source (e.g. train/cat/001.jpg), LABELS class folder names separated by ';'; the folder class is always the first label. Every image needs a line; unknown classes are refused with file and line.")]
        public string? Labels { get; init; }

        [CommandOption("--resize-oversized <MAXSIDE>")]
        [Description("Re-encode images whose record would exceed the largest Kafka record (1,000,000 bytes, the producer's message.max.bytes, or the broker's if lower) with their longer side scaled to MAXSIDE pixels. Without it such images are refused, by name, before anything is published.")]
        public int? ResizeOversized { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Dataset) ? ValidationResult.Error("--dataset is required")
            : Format is not ("idx" or "imagefolder" or "cifar10" or "cifar100") ? ValidationResult.Error($"--format must be idx, imagefolder, cifar10 or cifar100, not '{Format}'")
            : Labels is not null && Format != "imagefolder" ? ValidationResult.Error($"--labels works with --format imagefolder only (the {Format} format has its own labels)")
            : ResizeOversized is < 1 ? ValidationResult.Error($"--resize-oversized must be a positive number of pixels, not {ResizeOversized}")
            : ValidationResult.Success();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var source = settings.Source ?? (settings.Dataset == "fashion-mnist"
            ? FashionMnistSetup.EnsureInstalled()
            : throw new InvalidOperationException("--source is required for datasets other than fashion-mnist"));
        var classes = settings.Dataset == "fashion-mnist" ? IdxDataset.FashionMnistClasses : null;
        Log.Information("reading {Format} files from {Source}", settings.Format, source);
        var dataset = settings.Format switch
        {
            "imagefolder" => ImageFolderDataset.Load(settings.Dataset, source, settings.Labels),
            "cifar10" => CifarDataset.Load(settings.Dataset, source, cifar100: false),
            "cifar100" => CifarDataset.Load(settings.Dataset, source, cifar100: true),
            _ => IdxDataset.Load(settings.Dataset, source, classes),
        };

        var config = BitActorsConfig.Load();
        using var kafka = KafkaConnection.Open(settings.BootstrapServers, config);
        using var host = BitActorsHost.Start(config, "publish");
        var system = host.System;
        var options = new PublishOptions(settings.ResizeOversized);
        var result = await ProgressDisplay.RunAsync(display =>
            new DatasetPublisher(kafka.Admin, system.Materializer(), new Progress<PublishProgress>(display.Show), options).PublishAsync(dataset, cancellationToken), console);
        await host.StopAsync();

        var table = new Table().AddColumns("split", "topic", "partitions", "records");
        foreach (var split in result.Manifest.Splits)
            table.AddRow(split.Name, split.Topic, split.Partitions.ToString(), split.Records.ToString("N0"));
        console.Write(table);
        console.WriteLine(result.AlreadyPublished
            ? $"{settings.Dataset}: already published with the same content ({result.Manifest.ContentHash[..12]}…); nothing added"
            : $"{settings.Dataset}: published and verified; manifest on {Topics.Datasets}");
        if (!result.AlreadyPublished)
            console.WriteLine($"throughput: {result.RecordsSent:N0} images, {result.BytesSent / 1e6:F1} MB in {result.Elapsed.TotalSeconds:F2} s: " +
                $"{result.ImagesPerSecond:F0} images/s, {result.MegabytesPerSecond:F1} MB/s");
        if (kafka.IsEmbedded) Log.Warning("the embedded broker stops with this command: use `bitactors kafka up` and --bootstrap-servers to keep the data");
        return 0;
    }
}
