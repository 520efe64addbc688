using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Serialization;
using BitActors.Cli.Terminal;
using BitActors.Model.Architecture;
using BitActors.Model.Training;
using Serilog;
using Spectre.Console;
using Spectre.Console.Cli;
using TorchSharp;

namespace BitActors.Cli.Commands;

public sealed class BenchTrainCommand(IAnsiConsole console) : Command<BenchTrainCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--arch <ARCH>")]
        [Description("Architecture (default R50x1).")]
        [DefaultValue("R50x1")]
        public string Arch { get; init; } = "R50x1";

        [CommandOption("--device <DEVICE>")]
        [Description(DeviceOption.Help + " (default auto).")]
        [DefaultValue("auto")]
        public string Device { get; init; } = "auto";

        [CommandOption("--batch <N>")]
        [Description("Batch sizes, comma-separated (default 64).")]
        [DefaultValue("64")]
        public string Batch { get; init; } = "64";

        [CommandOption("--resolution <PX>")]
        [Description("Square input sizes, comma-separated (default 128).")]
        [DefaultValue("128")]
        public string Resolution { get; init; } = "128";

        [CommandOption("--steps <N>")]
        [Description("Timed steps per setting (default 20).")]
        [DefaultValue(20)]
        public int Steps { get; init; } = 20;

        [CommandOption("--warmup <N>")]
        [Description("Untimed steps first (default 5).")]
        [DefaultValue(5)]
        public int Warmup { get; init; } = 5;

        [CommandOption("--classes <K>")]
        [Description("Head size (default 1000).")]
        [DefaultValue(1000)]
        public int Classes { get; init; } = 1000;

        [CommandOption("--channels <C>")]
        [Description("Input channels: 3, or 1 as the Fashion-MNIST pipeline feeds (default 3).")]
        [DefaultValue(3)]
        public int Channels { get; init; } = 3;

        [CommandOption("--weight-decay <WD>")]
        [Description("SGD weight decay (default 0; BiT upstream uses 1e-4).")]
        [DefaultValue(0.0)]
        public double WeightDecay { get; init; }

        [CommandOption("--host-data")]
        [Description("Feed every step from managed arrays (a host-to-device copy per step, as the actor pipeline does) instead of tensors already on the device.")]
        public bool HostData { get; init; }

        [CommandOption("--threads <N>")]
        [Description("libtorch's intra-op threads, for BitActors and the peer alike (default 0: libtorch's default, the number of cores); the JSON names the count used.")]
        [DefaultValue(0)]
        public int Threads { get; init; }

        [CommandOption("--peer")]
        [Description("Also measure the PyTorch peer (bench/peers/bit_train.py: the same BiT ResNet-v2 in plain torch, no timm) with the same setting and threads, after BitActors in each round, never at the same time; JSON gains `peer` and `ratio` (BitActors over PyTorch images/s). Needs a Python with torch (Debian's python3-torch).")]
        public bool Peer { get; init; }

        [CommandOption("--python <PATH>")]
        [Description("The Python that runs the peer (default /usr/bin/python3).")]
        [DefaultValue("/usr/bin/python3")]
        public string Python { get; init; } = "/usr/bin/python3";

        [CommandOption("--rounds <N>")]
        [Description("Measurements per setting, BitActors and the peer alternating; the figures are the medians (default 1).")]
        [DefaultValue(1)]
        public int Rounds { get; init; } = 1;

        [CommandOption("--json")]
        [Description("One JSON object per line, per setting.")]
        public bool Json { get; init; }

        public override ValidationResult Validate() =>
            Steps <= 0 ? ValidationResult.Error("--steps must be positive")
            : Warmup < 0 ? ValidationResult.Error("--warmup must be 0 or more")
            : Threads < 0 ? ValidationResult.Error("--threads must be 0 (libtorch's default) or more")
            : Rounds <= 0 ? ValidationResult.Error("--rounds must be positive")
            : DeviceOption.Validate(Device);
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        // Loads the CUDA backend (the machine's libtorch_cuda) before any tensor exists.
        var name = DeviceOption.Resolve(settings.Device);
        var device = new torch.Device(name);
        if (settings.Peer) TrainPeer.Require(settings.Python);
        if (settings.Threads > 0) torch.set_num_threads(settings.Threads);
        var threads = torch.get_num_threads();
        var table = new Table().AddColumns("arch", "batch", "px", "img/s", "step (median)");
        if (settings.Peer) table.AddColumns("PyTorch img/s", "ratio");
        foreach (var resolution in Numbers(settings.Resolution))
        foreach (var batch in Numbers(settings.Batch))
        {
            var ours = new List<TrainBenchmarkResult>();
            var peers = new List<TrainPeerResult>();
            for (int round = 0; round < settings.Rounds; round++)
            {
                ours.Add(TrainBenchmark.Run(settings.Arch, settings.Classes, batch, resolution, settings.Steps, settings.Warmup, device, m => Log.Information("{Message}", m),
                    settings.Channels, settings.WeightDecay, settings.HostData));
                if (!settings.Peer) continue;
                peers.Add(TrainPeer.Run(settings.Python, KnownModels.Get(settings.Arch).Name, settings.Classes, settings.Channels, batch, resolution, settings.Steps, settings.Warmup,
                    settings.WeightDecay, settings.HostData, threads, name));
                if (peers[^1].Parameters != ours[^1].Parameters)
                    throw new InvalidDataException($"the PyTorch peer built {peers[^1].Parameters} parameters, BitActors {ours[^1].Parameters}: not the same model");
                Log.Information("round {Round}: BitActors {Ours:F1} img/s, PyTorch {Peer:F1} img/s", round + 1, ours[^1].ImagesPerSecond, peers[^1].ImagesPerSecond);
            }
            var r = ours[^1];
            double ips = Median(ours.Select(o => o.ImagesPerSecond)), medianStep = Median(ours.Select(o => o.MedianStepSeconds));
            double? peerIps = settings.Peer ? Median(peers.Select(p => p.ImagesPerSecond)) : null;
            if (settings.Json)
                console.WritePlainLine(JsonSerializer.Serialize(new
                {
                    bench = "train", impl = "bitactors", arch = r.Arch, device = name, batch = r.Batch, resolution = r.Resolution,
                    steps = r.Steps, warmup = r.WarmupSteps, channels = settings.Channels, weight_decay = settings.WeightDecay, host_data = settings.HostData, classes = settings.Classes,
                    threads, rounds = settings.Rounds, images_per_second = ips, mean_step_seconds = Median(ours.Select(o => o.MeanStepSeconds)),
                    median_step_seconds = medianStep, round_images_per_second = ours.Select(o => o.ImagesPerSecond).ToArray(),
                    final_loss = r.FinalLoss, parameters = r.Parameters, torchsharp = typeof(torch).Assembly.GetName().Version?.ToString(),
                    peer = settings.Peer ? new
                    {
                        impl = "pytorch", torch = peers[0].Torch, blas = peers[0].Blas, threads = peers[0].Threads, images_per_second = peerIps,
                        mean_step_seconds = Median(peers.Select(p => p.MeanStepSeconds)), median_step_seconds = Median(peers.Select(p => p.MedianStepSeconds)),
                        round_images_per_second = peers.Select(p => p.ImagesPerSecond).ToArray(), final_loss = peers[^1].FinalLoss, parameters = peers[0].Parameters,
                    } : null,
                    ratio = ips / peerIps,
                }, SkipNulls));
            else if (settings.Peer) table.AddRow(r.Arch, r.Batch.ToString(), r.Resolution.ToString(), ips.ToString("F1"), $"{medianStep * 1000:F1} ms", peerIps!.Value.ToString("F1"), (ips / peerIps.Value).ToString("F2"));
            else table.AddRow(r.Arch, r.Batch.ToString(), r.Resolution.ToString(), ips.ToString("F1"), $"{medianStep * 1000:F1} ms");
        }
        if (!settings.Json) console.Write(table);
        return 0;
    }

    private static readonly JsonSerializerOptions SkipNulls = new(Json.Options) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static IEnumerable<int> Numbers(string list) => list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(t => int.TryParse(t, out var v) && v > 0 ? v : throw new InvalidDataException($"'{t}' is not a positive number"));
}
