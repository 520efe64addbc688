using System.ComponentModel;
using BitActors.Model.Architecture;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BitActors.Cli.Commands;

/// <summary>The options that describe a model: architecture, classes, input channels and the ablation switches.</summary>
public class ModelSettings : CommandSettings
{
    [CommandOption("--arch <ARCH>")]
    [Description("R50x1 R101x1 R50x3 R101x3 R152x2 R152x4, or Tiny / Small for CPU work (default R50x1).")]
    public string Arch { get; init; } = "R50x1";

    [CommandOption("--classes <K>")]
    [Description("Number of output classes (default 1000).")]
    [DefaultValue(1000)]
    public int Classes { get; init; } = 1000;

    [CommandOption("--channels <C>")]
    [Description("Input channels: 3 (RGB) or 1 (grayscale; an RGB checkpoint's root kernel is summed over its channels). Default 3.")]
    [DefaultValue(3)]
    public int Channels { get; init; } = 3;

    [CommandOption("--norm <NORM>")]
    [Description("gn (GroupNorm, BiT) or bn (BatchNorm: the paper's ablation). Default gn.")]
    [DefaultValue("gn")]
    public string Norm { get; init; } = "gn";

    [CommandOption("--no-ws")]
    [Description("Plain convolutions instead of weight-standardised ones (the paper's ablation).")]
    public bool NoWeightStandardization { get; init; }

    public ResNetV2Config Config() =>
        KnownModels.Get(Arch, Channels, KnownModels.ParseNorm(Norm), weightStandardization: !NoWeightStandardization);

    public override ValidationResult Validate()
    {
        if (!KnownModels.All.ContainsKey(Arch)) return ValidationResult.Error($"--arch: unknown architecture '{Arch}'. Known: {string.Join(", ", KnownModels.All.Keys)}");
        if (Classes < 1) return ValidationResult.Error("--classes must be at least 1");
        if (Channels is not (1 or 3)) return ValidationResult.Error("--channels is 1 or 3");
        try { KnownModels.ParseNorm(Norm); }
        catch (ArgumentException e) { return ValidationResult.Error("--norm: " + e.Message); }
        return ValidationResult.Success();
    }
}
