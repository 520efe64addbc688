using BitActors.Model.Architecture;
using TorchSharp;
using static TorchSharp.torch;

namespace BitActors.Model.Checkpoints;

/// <summary>What happens to the classification head when weights are loaded.</summary>
public enum HeadPolicy
{
    /// <summary>The file's head must be there and fit (resuming, predicting).</summary>
    Require,

    /// <summary>Take the file's head when its class count fits the model, otherwise start from a zero head.</summary>
    Auto,

    /// <summary>Never take the file's head: a zero head for fine-tuning (BiT section 3.3).</summary>
    Replace,
}

/// <summary>What a load did.</summary>
public sealed record LoadReport(string Path, string Format, string Layout, int Tensors, long Bytes, bool HeadTaken);

/// <summary>
/// Loads a checkpoint into a model. Every key is checked against the model before any data is read, and all
/// the missing, unexpected and mis-shaped keys are reported together. Arrays are then streamed one at a
/// time, straight into the model's memory where no transpose is needed, so the peak is the model plus the
/// largest single array.
/// </summary>
public static class WeightLoader
{
    private static readonly string[] HeadNames = [.. ResNetV2.HeadParameterNames];

    public static LoadReport Load(ResNetV2 model, IWeightArchive archive, WeightLayout layout, HeadPolicy head)
    {
        var state = model.state_dict();
        var byKey = new Dictionary<string, (string Name, Tensor Target)>(StringComparer.Ordinal);
        var unstorable = new List<string>();
        foreach (var (name, tensor) in state)
        {
            var key = layout.KeyFor(name);
            if (key is null) unstorable.Add(name);
            else byKey[key] = (name, tensor);
        }
        if (unstorable.Count > 0)
            throw new NotSupportedException($"{archive.Path}: the {layout.Name} layout cannot hold {model.Config} (no key for {string.Join(", ", unstorable.Take(4))}); it stores GroupNorm + weight-standardised models only");

        var entries = archive.Entries.ToDictionary(e => e.Key, StringComparer.Ordinal);
        var headKeys = HeadNames.Select(n => layout.KeyFor(n)!).ToHashSet(StringComparer.Ordinal);
        bool headFits = headKeys.All(k => entries.TryGetValue(k, out var e) && Fits(layout, byKey[k], e));
        bool takeHead = head switch
        {
            HeadPolicy.Require => true,
            HeadPolicy.Auto => headFits,
            _ => false,
        };

        var missing = new List<string>();
        var misshaped = new List<string>();
        foreach (var (key, (name, target)) in byKey)
        {
            if (!takeHead && headKeys.Contains(key)) continue;
            if (!entries.TryGetValue(key, out var entry)) { missing.Add(key); continue; }
            if (Fits(layout, (name, target), entry)) continue;
            if (name == "root.weight" && ChannelMismatch(layout, target, entry) is { } mismatch)
                throw new CheckpointMismatchException(archive.Path, $"{model.Config} with {model.NumClasses} classes", [], [], [mismatch]);
            misshaped.Add($"{key} {entry.ShapeText} (model needs [{string.Join(", ", layout.StoredShape(name, target.shape))}])");
        }
        var unexpected = entries.Keys.Where(k => !byKey.ContainsKey(k)).ToList();
        if (missing.Count + unexpected.Count + misshaped.Count > 0)
            throw new CheckpointMismatchException(archive.Path, $"{model.Config} with {model.NumClasses} classes ({layout.Name} names)", missing, unexpected, misshaped);

        int loaded = 0;
        long bytes = 0;
        using (no_grad())
        {
            foreach (var entry in archive.Entries) // file order: sequential reads
            {
                if (!takeHead && headKeys.Contains(entry.Key)) continue;
                var (name, target) = byKey[entry.Key];
                using var scope = NewDisposeScope();
                bool direct = entry.DType == target.dtype && !layout.Transposes((int)target.dim()) && target.device_type == DeviceType.CPU
                    && target.is_contiguous() && entry.Elements == target.numel() && name != "root.weight";
                if (direct)
                {
                    archive.ReadInto(entry, target);
                }
                else
                {
                    var raw = empty(entry.Shape, dtype: entry.DType);
                    archive.ReadInto(entry, raw);
                    var value = layout.FromStored(name, raw);
                    target.copy_(value.reshape(target.shape));
                }
                loaded++;
                bytes += entry.Bytes;
            }
        }
        if (!takeHead) model.ZeroHead();
        return new LoadReport(archive.Path, archive.Format, layout.Name, loaded, bytes, takeHead);
    }

    /// <summary>Same shape in the file's layout; a vector may also be stored with leading ones ([1, 1, 1, C]).</summary>
    private static bool Fits(WeightLayout layout, (string Name, Tensor Target) model, StoredTensor entry)
    {
        var expected = layout.StoredShape(model.Name, model.Target.shape);
        if (expected.SequenceEqual(entry.Shape)) return true;
        return expected.Length == 1 && entry.Shape.Length > 1 && entry.Shape[^1] == expected[0] && entry.Shape[..^1].All(d => d == 1);
    }

    /// <summary>
    /// A root kernel that differs from the model's in its input channels only. No kernel is adapted (a summed RGB
    /// kernel under weight standardisation is another model): input channels follow the checkpoint.
    /// </summary>
    private static string? ChannelMismatch(WeightLayout layout, Tensor target, StoredTensor entry)
    {
        var stored = layout.ModelShape(entry.Shape);
        if (stored.Length != 4 || stored[0] != target.shape[0] || stored[2] != target.shape[2] || stored[3] != target.shape[3] || stored[1] == target.shape[1]) return null;
        return $"the checkpoint's root convolution takes {stored[1]} input channel(s), the model {target.shape[1]}: input channels follow the " +
            "checkpoint (build the model with its channels; a grayscale image is fed to all three channels of an RGB model, which is exact)";
    }
}
