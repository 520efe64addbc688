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

/// <summary>A checkpoint's model: its configuration, classes and metadata, as the file says and the options agree.</summary>
public sealed record CheckpointModel(ResNetV2Config Config, int Classes, CheckpointInfo Info)
{
    public CheckpointMetadata Metadata => Info.Metadata;

    /// <summary>
    /// Reads what <paramref name="path"/> says of its model and checks every given option against it: an option that
    /// disagrees is refused, naming both values and where the file's came from.
    /// </summary>
    public static CheckpointModel Resolve(string path, string? arch, int? classes, int? channels, NormKind? norm, bool? weightStandardization, bool needsHead)
    {
        var info = CheckpointFiles.Inspect(path);
        var m = info.Metadata;
        void Agree(string option, object? given, object held)
        {
            if (given is not null && !given.Equals(held))
                throw new ArgumentException($"{option} {Show(given)} disagrees with {path}, which holds {Show(held)} (from {info.Source}); leave the option out");
        }
        static string Show(object value) => value switch
        {
            NormKind n => n == NormKind.GroupNorm ? "gn" : "bn",
            bool b => b ? "weight-standardised convolutions" : "plain convolutions",
            _ => $"{value}",
        };
        Agree("--arch", arch is null ? null : KnownModels.Get(arch).Name, m.Arch);
        Agree("--channels", channels, m.Channels);
        if (info.FromMetadata || m.Classes > 0) Agree("--classes", classes, m.Classes);
        Agree("--norm", norm, m.Norm);
        Agree("--no-ws", weightStandardization, m.WeightStandardization);
        int k = m.Classes > 0 ? m.Classes : classes ?? 0;
        if (k == 0 && needsHead) throw new ArgumentException($"{path} has no classification head: nothing to predict with");
        return new CheckpointModel(m.Config, k, info);
    }
}
