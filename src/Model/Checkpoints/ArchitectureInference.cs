using BitActors.Model.Architecture;

namespace BitActors.Model.Checkpoints;

/// <summary>What a checkpoint's arrays say about the model they belong to.</summary>
public sealed record InferredArchitecture(ResNetV2Config Config, int? Classes)
{
    public override string ToString() => $"{Config.Name}, {Config.InChannels} input channel(s), {(Classes is int k ? $"{k} classes" : "no head")}";
}

/// <summary>
/// Infers the architecture of a checkpoint that does not name it (Google's .npz files carry no metadata) from its
/// arrays' names and shapes alone, before any data is read: units per stage from the unit keys, the width from the
/// root kernel's output channels, the input channels from its input channels, the classes from the head. R50x1 …
/// R152x4 (and the small CPU variants) differ in exactly these, so one known model matches or none does, and then the
/// message says what was found.
/// </summary>
public static class ArchitectureInference
{
    public static InferredArchitecture Infer(IWeightArchive archive, WeightLayout layout)
    {
        var entries = archive.Entries.ToDictionary(e => e.Key, StringComparer.Ordinal);
        var rootKey = layout.KeyFor("root.weight")!;
        if (!entries.TryGetValue(rootKey, out var root) || root.Shape.Length != 4)
            throw new CheckpointFormatException(archive.Path, $"no root convolution '{rootKey}' (a 4-d kernel): not a ResNet-v2 checkpoint in the {layout.Name} layout");
        var rootShape = layout.ModelShape(root.Shape);
        int rootWidth = checked((int)rootShape[0]), inChannels = checked((int)rootShape[1]);

        var units = new SortedDictionary<int, int>();
        foreach (var key in entries.Keys)
            if (layout.UnitOf(key) is var (stage, unit))
                units[stage] = Math.Max(units.GetValueOrDefault(stage), unit);
        var found = units.Keys.SequenceEqual(Enumerable.Range(1, units.Count)) ? units.Values.ToArray() : [];

        var match = KnownModels.All.Values.Where(c => c.RootWidth == rootWidth && c.Units.SequenceEqual(found)).ToList();
        if (match.Count != 1)
            throw new CheckpointFormatException(archive.Path, $"its arrays describe no known architecture: stages with units [{string.Join(", ", found)}] " +
                $"and a root width of {rootWidth} (known: {string.Join(", ", KnownModels.All.Values.Select(c => $"{c.Name} [{string.Join(",", c.Units)}]×{c.RootWidth}"))}); " +
                "give --arch to say which model it is");

        var headKey = layout.KeyFor("head_conv.weight")!;
        int? classes = entries.TryGetValue(headKey, out var head) ? checked((int)layout.ModelShape(head.Shape)[0]) : null;
        // Only BitActors' own files can hold the ablations: BatchNorm leaves running statistics behind.
        var norm = entries.Keys.Any(k => k.EndsWith(".running_mean", StringComparison.Ordinal)) ? NormKind.BatchNorm : NormKind.GroupNorm;
        return new InferredArchitecture(match[0] with { InChannels = inChannels, Norm = norm }, classes);
    }

    /// <summary>Opens <paramref name="path"/> (any supported format) and infers its architecture.</summary>
    public static InferredArchitecture Infer(string path)
    {
        var format = CheckpointFiles.Detect(path);
        using var archive = CheckpointFiles.Open(path);
        return Infer(archive, CheckpointFiles.LayoutOf(format));
    }
}

/// <summary>A readable checkpoint that is not of a model this project knows.</summary>
public sealed class CheckpointFormatException(string path, string problem) : CheckpointException($"{path}: {problem}");
