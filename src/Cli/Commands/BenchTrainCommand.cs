using System.ComponentModel;
using System.Text.Json;
using BitActors.Cli.Terminal;
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

        [CommandOption("--json")]
        [Description("One JSON object per line, per setting.")]
        public bool Json { get; init; }

        public override ValidationResult Validate() =>
            Steps > 0 && Warmup >= 0 ? DeviceOption.Validate(Device) : ValidationResult.Error("--steps must be positive");
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        // Loads the CUDA backend (the machine's libtorch_cuda) before any tensor exists.
        var name = DeviceOption.Resolve(settings.Device);
        var device = new torch.Device(name);
        var table = new Table().AddColumns("arch", "batch", "px", "img/s", "step (median)");
        foreach (var resolution in Numbers(settings.Resolution))
        foreach (var batch in Numbers(settings.Batch))
        {
            var r = TrainBenchmark.Run(settings.Arch, settings.Classes, batch, resolution, settings.Steps, settings.Warmup, device, m => Log.Information("{Message}", m),
                settings.Channels, settings.WeightDecay, settings.HostData);
            if (settings.Json)
                console.WritePlainLine(JsonSerializer.Serialize(new
                {
                    bench = "train", impl = "bitactors", arch = r.Arch, device = name, batch = r.Batch, resolution = r.Resolution,
                    steps = r.Steps, warmup = r.WarmupSteps, channels = settings.Channels, weight_decay = settings.WeightDecay, host_data = settings.HostData, classes = settings.Classes, images_per_second = r.ImagesPerSecond, mean_step_seconds = r.MeanStepSeconds,
                    median_step_seconds = r.MedianStepSeconds, final_loss = r.FinalLoss, parameters = r.Parameters, torchsharp = typeof(torch).Assembly.GetName().Version?.ToString(),
                }));
            else table.AddRow(r.Arch, r.Batch.ToString(), r.Resolution.ToString(), r.ImagesPerSecond.ToString("F1"), $"{r.MedianStepSeconds * 1000:F1} ms");
        }
        if (!settings.Json) console.Write(table);
        return 0;
    }

    private static IEnumerable<int> Numbers(string list) => list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(t => int.TryParse(t, out var v) && v > 0 ? v : throw new InvalidDataException($"'{t}' is not a positive number"));
}
