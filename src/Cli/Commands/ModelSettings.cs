using System.ComponentModel;
using BitActors.Model.Architecture;
using BitActors.Model.Checkpoints;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BitActors.Cli.Commands;

/// <summary>
/// The options that describe a model: architecture, classes, input channels and the ablation switches. With a
/// checkpoint the file describes the model (its metadata, or its arrays' shapes for Google's .npz files) and these
/// options are overrides that must agree with it; without one they build a fresh model (default R50x1, 1000
/// classes, RGB, GN+WS).
/// </summary>
public class ModelSettings : CommandSettings
{
    [CommandOption("--arch <ARCH>")]
    [Description("R50x1 R101x1 R50x3 R101x3 R152x2 R152x4, or Tiny / Small for CPU work. With a checkpoint: read from it (given, it must agree); else R50x1.")]
    public string? Arch { get; init; }

    [CommandOption("--classes <K>")]
    [Description("Number of output classes. With a checkpoint: its head's (given, it must agree); else 1000.")]
    public int? Classes { get; init; }

    [CommandOption("--channels <C>")]
    [Description("Input channels, 3 (RGB) or 1 (grayscale). With a checkpoint: its root convolution's (given, it must agree); else 3.")]
    public int? Channels { get; init; }

    [CommandOption("--norm <NORM>")]
    [Description("gn (GroupNorm, BiT) or bn (BatchNorm: the paper's ablation). With a checkpoint: read from it; else gn.")]
    public string? Norm { get; init; }

    [CommandOption("--no-ws")]
    [Description("Plain convolutions instead of weight-standardised ones (the paper's ablation). With a checkpoint: read from it.")]
    public bool NoWeightStandardization { get; init; }

    /// <summary>A fresh model from the options alone.</summary>
    public ResNetV2Config Config() =>
        KnownModels.Get(Arch ?? "R50x1", Channels ?? 3, KnownModels.ParseNorm(Norm ?? "gn"), weightStandardization: !NoWeightStandardization);

    public int ClassCount => Classes ?? 1000;

    /// <summary>The model <paramref name="checkpoint"/> holds, with the options checked against it.</summary>
    public CheckpointModel FromCheckpoint(string checkpoint, bool needsHead) =>
        CheckpointModel.Resolve(checkpoint, Arch, Classes, Channels, Norm is null ? null : KnownModels.ParseNorm(Norm), NoWeightStandardization ? false : null, needsHead);

    public override ValidationResult Validate()
    {
        if (Arch is not null && !KnownModels.All.ContainsKey(Arch)) return ValidationResult.Error($"--arch: unknown architecture '{Arch}'. Known: {string.Join(", ", KnownModels.All.Keys)}");
        if (Classes is < 1) return ValidationResult.Error("--classes must be at least 1");
        if (Channels is not (null or 1 or 3)) return ValidationResult.Error("--channels is 1 or 3");
        try { if (Norm is not null) KnownModels.ParseNorm(Norm); }
        catch (ArgumentException e) { return ValidationResult.Error("--norm: " + e.Message); }
        return ValidationResult.Success();
    }
}
