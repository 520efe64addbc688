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
        [Description("Re-encode images whose record would exceed the largest Kafka record (the smallest of the producer's message.max.bytes, 1,000,000 bytes by default, the broker's message.max.bytes and the topic's max.message.bytes) with their longer side scaled to MAXSIDE pixels. Without it such images are refused, by name, before anything is published.")]
        public int? ResizeOversized { get; init; }

        [CommandOption("--partitions <N>")]
        [Description("Partitions of each data topic. Default: bitactors.publish.partitions (12) on an external broker; on the embedded broker (in-process or `kafka up`) enough for its capacity, and a smaller N is raised to that with a warning.")]
        public int? Partitions { get; init; }

        [CommandOption("--seed <SEED>")]
        [Description("Seed of the random order records are written in (recorded in the manifest); each image keeps its dataset index in its key and bit.index header.")]
        [DefaultValue(0)]
        public int Seed { get; init; }

        [CommandOption("--skip-invalid")]
        [Description("Publish every good image and leave out the bad ones (undecodable, FIFOs, symlink loops, unreadable, over the record limit, bad labels): each is named on stderr and in the skipped list (--skipped-file), their count in the manifest; exit code 0 with a warning. Without it one bad image refuses the whole dataset and nothing is published.")]
        public bool SkipInvalid { get; init; }

        [CommandOption("--skipped-file <PATH>")]
        [Description("With --skip-invalid: where the list of skipped images goes, one 'PATH: REASON' a line. Default: <output-dir>/publish/<dataset>.skipped.txt (bitactors.output-dir).")]
        public string? SkippedFile { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Dataset) ? ValidationResult.Error("--dataset is required")
            : Format is not ("idx" or "imagefolder" or "cifar10" or "cifar100") ? ValidationResult.Error($"--format must be idx, imagefolder, cifar10 or cifar100, not '{Format}'")
            : Labels is not null && Format != "imagefolder" ? ValidationResult.Error($"--labels works with --format imagefolder only (the {Format} format has its own labels)")
            : ResizeOversized is < 1 ? ValidationResult.Error($"--resize-oversized must be a positive number of pixels, not {ResizeOversized}")
            : Partitions is < 1 ? ValidationResult.Error($"--partitions must be at least 1, not {Partitions}")
            : SkippedFile is not null && !SkipInvalid ? ValidationResult.Error("--skipped-file works with --skip-invalid only")
            : ValidationResult.Success();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var source = settings.Source ?? (settings.Dataset == "fashion-mnist"
            ? FashionMnistSetup.EnsureInstalled()
            : throw new InvalidOperationException("--source is required for datasets other than fashion-mnist"));
        var classes = settings.Dataset == "fashion-mnist" ? IdxDataset.FashionMnistClasses : null;
        var config = BitActorsConfig.Load();
        var options = BitActorsConfig.Publish(config) with
        {
            ResizeOversized = settings.ResizeOversized, Partitions = settings.Partitions, Seed = settings.Seed, SkipInvalid = settings.SkipInvalid,
        };
        Log.Information("reading {Format} files from {Source}", settings.Format, source);
        var dataset = settings.Format switch
        {
            "imagefolder" => ImageFolderDataset.Load(settings.Dataset, source, settings.Labels, settings.SkipInvalid, options.Parallelism),
            "cifar10" => CifarDataset.Load(settings.Dataset, source, cifar100: false),
            "cifar100" => CifarDataset.Load(settings.Dataset, source, cifar100: true),
            _ => IdxDataset.Load(settings.Dataset, source, classes),
        };

        using var kafka = KafkaConnection.Open(settings.BootstrapServers, config);
        using var host = BitActorsHost.Start(config, "publish");
        var system = host.System;
        var result = await ProgressDisplay.RunAsync(display =>
            new DatasetPublisher(kafka.Admin, system.Materializer(), new Progress<PublishProgress>(display.Show), options).PublishAsync(dataset, cancellationToken), console);
        await host.StopAsync();

        if (result.Skipped is { Count: > 0 } skipped)
            ReportSkipped(skipped, settings.SkippedFile ?? Path.Combine(config.GetString("bitactors.output-dir"), "publish", $"{settings.Dataset}.skipped.txt"));
        var table = new Table().AddColumns("split", "topic", "partitions", "records", "skipped");
        foreach (var split in result.Manifest.Splits)
            table.AddRow(split.Name, split.Topic, split.Partitions.ToString(), split.Records.ToString("N0"), split.Skipped.ToString("N0"));
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

    /// <summary>Each skipped image on stderr, all of them in a file the user can read, and a warning with the count.</summary>
    private static void ReportSkipped(IReadOnlyList<SkippedImage> skipped, string file)
    {
        foreach (var image in skipped) Console.Error.WriteLine($"skipped {image}");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        File.WriteAllLines(file, skipped.Select(s => s.ToString()));
        Log.Warning("{Count} image(s) skipped (--skip-invalid), listed in {File}", skipped.Count, Path.GetFullPath(file));
    }
}
