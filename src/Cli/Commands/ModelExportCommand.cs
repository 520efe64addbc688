using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using BitActors.Cli.Terminal;
using BitActors.Model.Architecture;
using BitActors.Model.Checkpoints;
using BitActors.Model.Export;
using Spectre.Console;
using Spectre.Console.Cli;
using static TorchSharp.torch;

namespace BitActors.Cli.Commands;

/// <summary>Writes a model's weights in any of the three formats, or as an ONNX model: converted from a checkpoint, or freshly initialised.</summary>
public sealed class ModelExportCommand(IAnsiConsole console) : Command<ModelExportCommand.Settings>
{
    public sealed class Settings : ModelSettings
    {
        [CommandOption("--checkpoint <FILE>")]
        [Description("Weights to convert (.npz in Google's BiT layout, .safetensors with timm's names, or a native checkpoint); the model and its metadata come from the file. Without it the model is freshly initialised from the options.")]
        public string? Checkpoint { get; init; }

        [CommandOption("--output <FILE>")]
        [Description("Where to write: .npz (Google's BiT layout), .safetensors (timm's resnetv2 names), .onnx (ONNX opset 17 for inference: input N×C×H×W scaled to -1..1, output the logits; weights past 2 GiB in FILE.onnx.data), anything else the native format. A sha256 is written beside it.")]
        public string Output { get; init; } = "";

        [CommandOption("--seed <SEED>")]
        [Description("Seed of a fresh initialisation (default 0).")]
        [DefaultValue(0)]
        public int Seed { get; init; }

        [CommandOption("--json")]
        [Description("Print the result as JSON.")]
        public bool Json { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Output) ? ValidationResult.Error("--output FILE is required") : base.Validate();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        manual_seed(settings.Seed);
        var source = settings.Checkpoint is null ? null : settings.FromCheckpoint(settings.Checkpoint, needsHead: true);
        using var model = new ResNetV2(source?.Config ?? settings.Config(), source?.Classes ?? settings.ClassCount);
        LoadReport? loaded = settings.Checkpoint is null ? null : CheckpointFiles.Load(model, settings.Checkpoint, HeadPolicy.Require);
        // The source's metadata travels with the weights (class names, dataset, run, task).
        var metadata = source?.Info.FromMetadata == true ? source.Metadata : CheckpointMetadata.Of(model);
        var saved = OnnxExport.Handles(settings.Output)
            ? OnnxExport.Write(model, settings.Output, metadata.ToStrings())
            : CheckpointFiles.Save(model, settings.Output, metadata: metadata);
        if (settings.Json)
        {
            console.WritePlainLine(JsonSerializer.Serialize(new
            {
                output = saved.Path, format = saved.Format, bytes = saved.Bytes, sha256 = saved.Sha256,
                source = loaded?.Path, source_format = loaded?.Format, arch = model.Config.Name, classes = model.NumClasses,
                seconds = Math.Round(clock.Elapsed.TotalSeconds, 2),
            }, Json.Options));
        }
        else
        {
            console.MarkupLineInterpolated($"wrote {saved.Path} ({saved.Format}, {saved.Bytes / 1e6:F1} MB, sha256 {saved.Sha256[..16]}…) in {clock.Elapsed.TotalSeconds:F1} s");
        }
        return 0;
    }
}
