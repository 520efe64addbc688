namespace BitActors.Model.Architecture;

/// <summary>The normalisation layer in front of each convolution (BiT: GroupNorm; Table 4/5 ablate BatchNorm).</summary>
public enum NormKind
{
    GroupNorm,
    BatchNorm,
}

/// <summary>
/// One description from which every ResNet-v2 variant is built (after timm's resnetv2 builder):
/// units per stage, width factor, base width and GroupNorm groups. <see cref="Norm"/> and
/// <see cref="WeightStandardization"/> are the paper's ablation switches (Tables 4 and 5); BiT itself is
/// GroupNorm with weight-standardised convolutions.
/// </summary>
public sealed record ResNetV2Config(string Name, int[] Units, int WidthFactor, int BaseWidth = 64, int Groups = 32, int InChannels = 3)
{
    public NormKind Norm { get; init; } = NormKind.GroupNorm;

    public bool WeightStandardization { get; init; } = true;

    /// <summary>BiT proper: GroupNorm and weight standardisation (the layout of the official checkpoints).</summary>
    public bool IsBit => Norm == NormKind.GroupNorm && WeightStandardization;

    /// <summary>Root conv width and bottleneck (mid) width of stage 1; later stages double it.</summary>
    public int RootWidth => BaseWidth * WidthFactor;

    public int MidWidth(int stage) => BaseWidth * WidthFactor * (1 << stage);

    public int OutWidth(int stage) => 4 * MidWidth(stage);

    public int FeatureWidth => OutWidth(Units.Length - 1);

    /// <summary>"GN+WS", "GN", "BN+WS" or "BN".</summary>
    public string NormLabel => LabelOf(Norm, WeightStandardization);

    public static string LabelOf(NormKind norm, bool weightStandardization) =>
        (norm == NormKind.GroupNorm ? "GN" : "BN") + (weightStandardization ? "+WS" : "");

    public override string ToString() =>
        $"{Name} (units [{string.Join(",", Units)}], width x{WidthFactor}, base {BaseWidth}, groups {Groups}, {NormLabel})";
}

/// <summary>BiT's named models (google-research/big_transfer KNOWN_MODELS) plus small variants for CPU work.</summary>
public static class KnownModels
{
    public static readonly IReadOnlyDictionary<string, ResNetV2Config> All = new[]
    {
        new ResNetV2Config("R50x1", [3, 4, 6, 3], 1),
        new ResNetV2Config("R50x3", [3, 4, 6, 3], 3),
        new ResNetV2Config("R101x1", [3, 4, 23, 3], 1),
        new ResNetV2Config("R101x3", [3, 4, 23, 3], 3),
        new ResNetV2Config("R152x2", [3, 8, 36, 3], 2),
        new ResNetV2Config("R152x4", [3, 8, 36, 3], 4),
        // Small variants for CPU: same block structure, fewer units, narrower, fewer GroupNorm groups
        // (a group needs at least one channel: 16 channels cannot form 32 groups).
        new ResNetV2Config("Tiny", [1, 1, 1, 1], 1, BaseWidth: 16, Groups: 8),
        new ResNetV2Config("Small", [2, 2, 2, 2], 1, BaseWidth: 32, Groups: 16),
    }.ToDictionary(c => c.Name, StringComparer.OrdinalIgnoreCase);

    public static ResNetV2Config Get(string name, int inChannels = 3) =>
        All.TryGetValue(name, out var config)
            ? config with { InChannels = inChannels }
            : throw new ArgumentException($"Unknown architecture '{name}'. Known: {string.Join(", ", All.Keys)}.");

    /// <summary>A known model with the ablation switches applied.</summary>
    public static ResNetV2Config Get(string name, int inChannels, NormKind norm, bool weightStandardization) =>
        Get(name, inChannels) with { Norm = norm, WeightStandardization = weightStandardization };

    /// <summary>Parses "gn" / "groupnorm" / "bn" / "batchnorm" (case-insensitive).</summary>
    public static NormKind ParseNorm(string text) => text.Trim().ToLowerInvariant() switch
    {
        "gn" or "groupnorm" or "group-norm" => NormKind.GroupNorm,
        "bn" or "batchnorm" or "batch-norm" => NormKind.BatchNorm,
        _ => throw new ArgumentException($"Unknown normalisation '{text}': use gn (GroupNorm, BiT) or bn (BatchNorm)."),
    };
}
