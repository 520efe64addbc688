using BitActors.Streams.Datasets;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Training;

/// <summary>
/// What a training run needs of its dataset, checked from the manifest before step 0: the splits it reads (training,
/// and test for the evaluation at its end), and classes that exist and have training images. Without these a run
/// would wait forever for a batch, or train for hours and then fail; refused instead, naming the class or split.
/// </summary>
public static class TrainingPreconditions
{
    /// <summary>The splits every training run reads: its training data and the test split it is evaluated on.</summary>
    public static readonly IReadOnlyList<string> Splits = ["train", "test"];

    /// <summary>Why <paramref name="what"/> (a task, the upstream run, an option) cannot train on these classes of <paramref name="manifest"/>, or null.</summary>
    public static string? Refusal(DatasetManifest manifest, ClassSubset classes, string what)
    {
        if (Splits.FirstOrDefault(name => manifest.Splits.All(s => s.Name != name)) is { } missing)
            return $"{what}: dataset '{manifest.Name}' has no '{missing}' split (it has: {string.Join(", ", manifest.Splits.Select(s => s.Name))}); " +
                "a run trains on 'train' and is evaluated on 'test'";
        if (classes.Count == 0) return $"{what}: no classes to train on";
        var outside = classes.Classes.Where(c => c < 0 || c >= manifest.Classes.Count).ToList();
        if (outside.Count > 0)
            return $"{what}: {Classes(outside)} not in dataset '{manifest.Name}' (its classes are 0–{manifest.Classes.Count - 1})";
        if (manifest.Split("train").ClassCounts is { } counts)
        {
            var empty = classes.Classes.Where(c => c >= counts.Count || counts[c] == 0).ToList();
            if (empty.Count > 0) return $"{what}: {Classes(empty)} of dataset '{manifest.Name}' {(empty.Count == 1 ? "has" : "have")} no training images";
        }
        return null;
    }

    /// <summary>Fails with <see cref="Refusal"/> when there is one.</summary>
    public static void Check(DatasetManifest manifest, ClassSubset classes, string what)
    {
        if (Refusal(manifest, classes, what) is { } refusal) throw new InvalidDataException(refusal);
    }

    private static string Classes(IReadOnlyList<int> ids) => (ids.Count == 1 ? "class " : "classes ") + string.Join(", ", ids);
}
