using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using Akka.Streams;
using BitActors.Actors.Hosting;
using BitActors.Cli.Terminal;
using BitActors.Streams.Datasets;
using BitActors.Streams.Images;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;
using Serilog;
using SkiaSharp;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BitActors.Cli.Commands;

/// <summary>
/// The data pipeline's throughput on the same images, three ways: (a) a plain decode + augment loop, (b) the
/// full pipeline from the embedded broker, (c) torchvision's DataLoader with PIL (bench/peers). Two cases:
/// 32×32 PNGs to 128 crops (resized to 160) and 256×256 JPEGs to 224 crops (resized to 256).
/// </summary>
public sealed class BenchPipelineCommand(IAnsiConsole console) : AsyncCommand<BenchPipelineCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--images <N>")]
        [Description("Images per case (default 3000).")]
        [DefaultValue(3000)]
        public int Images { get; init; } = 3000;

        [CommandOption("--cases <LIST>")]
        [Description("png32 (32×32 PNG → 128 crop) and/or jpeg256 (256×256 JPEG → 224 crop), comma-separated (default both).")]
        [DefaultValue("png32,jpeg256")]
        public string Cases { get; init; } = "png32,jpeg256";

        [CommandOption("--batch <N>")]
        [Description("Batch size (default 64).")]
        [DefaultValue(64)]
        public int Batch { get; init; } = 64;

        [CommandOption("--workers <N>")]
        [Description("Decode/augment workers in all three (default: the number of cores).")]
        public int? Workers { get; init; }

        [CommandOption("--shuffle-buffer <N>")]
        [Description("Shuffle buffer of the pipeline (b), in images (default: a quarter of --images, at most 1024).")]
        public int? ShuffleBuffer { get; init; }

        [CommandOption("--rounds <N>")]
        [Description("Rounds of (a), (b) and the memory-fed pipeline, interleaved (a, b, memory, a, b, …); each figure is the median of its rounds (default 3: one pass of each moves by ±15 % on a shared 2-core machine).")]
        [DefaultValue(3)]
        public int Rounds { get; init; } = 3;

        [CommandOption("--python <PATH>")]
        [Description("Python with torchvision for the peer (default /usr/bin/python3; Debian's python3-torchvision). Without it (c) is left out.")]
        [DefaultValue("/usr/bin/python3")]
        public string Python { get; init; } = "/usr/bin/python3";

        [CommandOption("--source-order")]
        [Description("Also (d) the pipeline on the same images published from a class-sorted source (10 classes, as an ImageFolder comes) against (e) an already shuffled one, both read as upstream reads (ordered mode), three interleaved rounds each (medians); prints d/e.")]
        public bool SourceOrder { get; init; }

        [CommandOption("--json")]
        [Description("One JSON object per case: a, b, c in images/s and the ratios b/a and b/c; b_memory (the pipeline fed from memory, no Kafka) and kafka_only (records/s read, no decoding) split b's time.")]
        public bool Json { get; init; }

        public override ValidationResult Validate() =>
            Images < 4 * Batch ? ValidationResult.Error("--images must be at least four batches")
            : Rounds < 1 ? ValidationResult.Error("--rounds must be at least 1") : ValidationResult.Success();
    }

    private sealed record Case(string Name, int Size, SKEncodedImageFormat Format, string Extension, int Precrop, int Crop);

    private static readonly Case[] Known =
    [
        new("png32", 32, SKEncodedImageFormat.Png, ".png", 160, 128),
        new("jpeg256", 256, SKEncodedImageFormat.Jpeg, ".jpg", 256, 224),
    ];

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        int workers = settings.Workers ?? Environment.ProcessorCount;
        var cases = settings.Cases.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(n => Known.FirstOrDefault(c => c.Name == n) ?? throw new InvalidDataException($"--cases: unknown case '{n}' (png32, jpeg256)")).ToList();
        var config = BitActorsConfig.Load(null);
        using var kafka = KafkaConnection.Open(null, config, config.GetInt("bitactors.kafka.embedded-brokers"));
        using var host = BitActorsHost.Start(config, "bench");
        var materializer = host.System.Materializer();
        var table = new Table().AddColumns("case", "(a) plain loop img/s", "(b) pipeline img/s", "(c) torchvision img/s", "b/a", "b/c", "d/e (sorted/shuffled source)");
        foreach (var c in cases)
        {
            var folder = Directory.CreateTempSubdirectory($"bitactors-bench-{c.Name}").FullName;
            try
            {
                var images = Generate(c, settings.Images, folder);
                var augment = new AugmentSettings(c.Precrop, c.Crop, 3);
                Log.Information("[bench] {Case}: {N} images of {Bytes:N0} bytes on average", c.Name, images.Count, images.Average(i => i.Length));

                var source = new DatasetSource($"bench-{c.Name}", ["a", "b"], c.Size, c.Size, 3, false, Guid.NewGuid().ToString("N"),
                    [new DatasetSplit("train", images.Select((bytes, i) => new LabelledImage(i, [i % 2], bytes, c.Format == SKEncodedImageFormat.Png ? "image/png" : "image/jpeg")).ToList())]);
                var published = await new DatasetPublisher(kafka.Admin, materializer).PublishAsync(source, cancellationToken);
                int buffer = settings.ShuffleBuffer ?? Math.Min(1024, images.Count / 4);
                // (a), (b) and the pipeline fed from memory (no Kafka: where b's time goes), interleaved so that the machine's
                // drift falls on all three alike; the medians.
                var rounds = new List<(double A, double B, double Memory)>();
                for (int r = 0; r < settings.Rounds; r++)
                    rounds.Add((PipelineBenchmark.PlainLoop(images, augment, workers, settings.Batch).ImagesPerSecond,
                        (await PipelineBenchmark.FromKafka(kafka.Endpoint, published.Manifest.Split("train"), ClassSubset.Range(0, 2), augment,
                            workers, settings.Batch, buffer, materializer, cancellationToken)).ImagesPerSecond,
                        (await PipelineBenchmark.FromMemory(images, ClassSubset.Range(0, 2), augment, workers, settings.Batch, buffer,
                            materializer, cancellationToken)).ImagesPerSecond));
                Log.Information("[bench] {Case}: rounds (a / b / memory img/s) {Rounds}", c.Name,
                    string.Join(", ", rounds.Select(r => $"{r.A:F0} / {r.B:F0} / {r.Memory:F0}")));
                double a = Median(rounds.Select(r => r.A)), b = Median(rounds.Select(r => r.B)), memory = Median(rounds.Select(r => r.Memory));
                double ratioSpread(Func<(double A, double B, double Memory), double> f) => Math.Round(rounds.Max(f) - rounds.Min(f), 3);
                var reading = await PipelineBenchmark.KafkaOnly(kafka.Endpoint, published.Manifest.Split("train"), materializer, cancellationToken);
                var (sorted, shuffled) = settings.SourceOrder
                    ? await SourceOrderAsync(kafka.Admin, kafka.Endpoint, c, images, augment, workers, settings, materializer, cancellationToken)
                    : (null, null);
                var (peer, peerError) = Peer(settings, folder, c, workers);
                var result = new
                {
                    bench = "pipeline", @case = c.Name, images = images.Count, batch = settings.Batch, workers, precrop = c.Precrop, crop = c.Crop,
                    rounds = settings.Rounds,
                    per_round = rounds.Select(r => new { a = Math.Round(r.A, 1), b = Math.Round(r.B, 1), memory = Math.Round(r.Memory, 1) }).ToArray(),
                    a_plain_loop = Math.Round(a, 1), b_pipeline = Math.Round(b, 1),
                    c_torchvision = peer is null ? (double?)null : Math.Round(peer.Value, 1), c_error = peerError,
                    b_over_a = Math.Round(Median(rounds.Select(r => r.B / r.A)), 3), b_over_a_range = ratioSpread(r => r.B / r.A),
                    b_memory = Math.Round(memory, 1), b_memory_over_a = Math.Round(Median(rounds.Select(r => r.Memory / r.A)), 3),
                    kafka_only = Math.Round(reading.ImagesPerSecond, 1),
                    b_over_c = peer is null ? (double?)null : Math.Round(b / peer.Value, 3),
                    d_sorted_source = sorted is null ? (double?)null : Math.Round(sorted.Value, 1),
                    e_shuffled_source = shuffled is null ? (double?)null : Math.Round(shuffled.Value, 1),
                    d_over_e = sorted is null || shuffled is null ? (double?)null : Math.Round(sorted.Value / shuffled.Value, 3),
                };
                if (settings.Json) console.WritePlainLine(JsonSerializer.Serialize(result, Json.Options));
                table.AddRow(c.Name, $"{result.a_plain_loop:F0}", $"{result.b_pipeline:F0}", result.c_torchvision?.ToString("F0") ?? "-",
                    $"{result.b_over_a:F2}", result.b_over_c?.ToString("F2") ?? "-", result.d_over_e?.ToString("F2") ?? "-");
            }
            finally { Directory.Delete(folder, recursive: true); }
        }
        await host.StopAsync();
        if (!settings.Json) console.Write(table);
        return 0;
    }

    /// <summary>
    /// The pipeline's images/s on the same images published twice with 10 classes: once from a source sorted by class
    /// (indexes 0..N/10-1 are class 0, …), once from a source already in random class order; both read in ordered mode
    /// with the upstream shuffle buffer. Three interleaved rounds each (shuffled, sorted, shuffled, …); the medians, since a
    /// shared machine's noise moves single rounds by more than the difference looked for.
    /// </summary>
    private static async Task<(double? Sorted, double? Shuffled)> SourceOrderAsync(ITopicAdmin admin, KafkaEndpoint endpoint, Case c, List<byte[]> images,
        AugmentSettings augment, int workers, Settings settings, IMaterializer materializer, CancellationToken cancellationToken)
    {
        const int classes = 10;
        var shuffledLabels = Enumerable.Range(0, images.Count).Select(i => i * classes / images.Count).ToArray();
        new Random(11).Shuffle(shuffledLabels);
        var splits = new Dictionary<string, SplitManifest>();
        foreach (var (name, label) in new (string, Func<int, int>)[] { ("sorted", i => i * classes / images.Count), ("shuffled", i => shuffledLabels[i]) })
        {
            var source = new DatasetSource($"bench-{c.Name}-{name}", Enumerable.Range(0, classes).Select(k => $"class{k}").ToList(), c.Size, c.Size, 3, false,
                Guid.NewGuid().ToString("N"), [new DatasetSplit("train", images.Select((bytes, i) => new LabelledImage(i, [label(i)], bytes, c.Format == SKEncodedImageFormat.Png ? "image/png" : "image/jpeg")).ToList())]);
            splits[name] = (await new DatasetPublisher(admin, materializer).PublishAsync(source, cancellationToken)).Manifest.Split("train");
        }
        var rates = new Dictionary<string, List<double>> { ["sorted"] = [], ["shuffled"] = [] };
        foreach (var name in new[] { "shuffled", "sorted", "shuffled", "sorted", "shuffled", "sorted" })
            rates[name].Add((await PipelineBenchmark.FromKafka(endpoint, splits[name], ClassSubset.Range(0, classes), augment, workers, settings.Batch,
                settings.ShuffleBuffer ?? Math.Min(2048, images.Count / 4), materializer, cancellationToken, ordered: true)).ImagesPerSecond);
        Log.Information("[bench] {Case}: class-sorted source {Sorted} img/s, shuffled source {Shuffled} img/s", c.Name,
            string.Join(" / ", rates["sorted"].Select(r => r.ToString("F0"))), string.Join(" / ", rates["shuffled"].Select(r => r.ToString("F0"))));
        return (rates["sorted"].Order().ElementAt(1), rates["shuffled"].Order().ElementAt(1));
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>Synthetic but real images: random rectangles and circles over a gradient, encoded by Skia, also written to <paramref name="folder"/> for the peer.</summary>
    private static List<byte[]> Generate(Case c, int count, string folder)
    {
        var random = new Random(7);
        var list = new List<byte[]>(count);
        for (int i = 0; i < count; i++)
        {
            using var bitmap = new SKBitmap(new SKImageInfo(c.Size, c.Size, SKColorType.Rgba8888, SKAlphaType.Unpremul));
            using (var canvas = new SKCanvas(bitmap))
            {
                using var background = new SKPaint { Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(c.Size, c.Size),
                    [new SKColor((uint)random.Next() | 0xff000000), new SKColor((uint)random.Next() | 0xff000000)], SKShaderTileMode.Clamp) };
                canvas.DrawRect(0, 0, c.Size, c.Size, background);
                for (int s = 0; s < 6; s++)
                {
                    using var paint = new SKPaint { Color = new SKColor((uint)random.Next() | 0xff000000), IsAntialias = true };
                    float x = random.Next(c.Size), y = random.Next(c.Size), r = 2 + random.Next(c.Size / 3);
                    if (s % 2 == 0) canvas.DrawCircle(x, y, r, paint); else canvas.DrawRect(x, y, r, r * 0.7f, paint);
                }
            }
            using var data = bitmap.Encode(c.Format, 90);
            var bytes = data.ToArray();
            File.WriteAllBytes(Path.Combine(folder, $"{i:D6}{c.Extension}"), bytes);
            list.Add(bytes);
        }
        return list;
    }

    private static (double? ImagesPerSecond, string? Error) Peer(Settings settings, string folder, Case c, int workers)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "bench", "peers", "torchvision_pipeline.py");
        if (!File.Exists(settings.Python) || !File.Exists(script)) return (null, $"peer not run: {settings.Python} or {script} missing");
        var start = new ProcessStartInfo(settings.Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { script, "--folder", folder, "--precrop", c.Precrop.ToString(), "--crop", c.Crop.ToString(), "--batch", settings.Batch.ToString(), "--workers", workers.ToString() })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0)
            return (null, $"peer failed ({process.ExitCode}; needs python3-torchvision): {stderr.Result.Trim().Split('\n').LastOrDefault()}");
        using var json = JsonDocument.Parse(stdout.Result.Trim().Split('\n').Last());
        return (json.RootElement.GetProperty("images_per_second").GetDouble(), null);
    }
}
