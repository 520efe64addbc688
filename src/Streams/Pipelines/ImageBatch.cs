namespace BitActors.Streams.Pipelines;

/// <summary>
/// A batch ready for a trainer: NCHW floats in [-1, 1] in one contiguous array (the tensor's memory
/// layout, so the trainer wraps it without reshuffling) and one class id per image (the first label).
/// For multi-label data, <c>Targets</c> holds the multi-hot label matrix, N × classes, row-major.
/// <c>Records</c>: the records its images came from, where known (a grouped feed's ledger marks them trained).
/// </summary>
public sealed record ImageBatch(float[] Pixels, long[] Shape, int[] Labels, float[]? Targets = null)
{
    public int Count => Labels.Length;

    public IReadOnlyList<RecordId>? Records { get; init; }
}

/// <summary>Which record of a data topic an image came from: the reader's epoch, the partition and the offset.</summary>
public readonly record struct RecordId(int Epoch, int Partition, long Offset);

/// <summary>One augmented image (CHW bytes; batching turns them into floats) and its task-local class ids (the first is the primary label).</summary>
public sealed record Sample(byte[] Chw, int[] Labels, long Index)
{
    public int Label => Labels[0];

    /// <summary>The record it came from (null: an image held in memory).</summary>
    public RecordId? Source { get; init; }
}

/// <summary>
/// The classes a task uses, mapped to task-local ids 0..n-1 (e.g. Fashion-MNIST classes 5–9 → 0–4).
/// A record belongs to the task when its first (primary) label is in the subset; its other labels in the
/// subset are kept for multi-label targets. Called once per image: lookups go through a prebuilt map.
/// </summary>
public sealed record ClassSubset(IReadOnlyList<int> Classes)
{
    private readonly Dictionary<int, int> local = LocalIds(Classes);

    public static ClassSubset Range(int first, int count) => new(Enumerable.Range(first, count).ToArray());

    public int Count => Classes.Count;

    public bool Contains(int[] labels) => labels.Length > 0 && local.ContainsKey(labels[0]);

    /// <summary>
    /// The record filter of this task on a dataset of <paramref name="datasetClasses"/> classes: its own records,
    /// and those with a label outside the dataset, so that the pipeline refuses them by name (dead letters)
    /// instead of skipping them as another task's.
    /// </summary>
    public Func<int[], bool> AcceptFrom(int datasetClasses) => labels => Contains(labels) || labels.Any(l => l < 0 || l >= datasetClasses);

    public int Map(int[] labels) =>
        labels.Length > 0 && local.TryGetValue(labels[0], out var i)
            ? i
            : throw new InvalidDataException($"label {string.Join(',', labels)} is not one of this task's classes {string.Join(',', Classes)}");

    /// <summary>Task-local ids of every label in the subset, the primary (first) label first; labels outside are dropped.</summary>
    public int[] MapAll(int[] labels)
    {
        var primary = Map(labels);
        return labels.Length == 1
            ? [primary]
            : [primary, .. labels.Skip(1).Where(local.ContainsKey).Select(l => local[l]).Where(i => i != primary).Distinct()];
    }

    public override string ToString() => $"[{string.Join(",", Classes)}]";

    /// <summary>Task-local ids; a class listed twice would have two, so it is refused by name.</summary>
    private static Dictionary<int, int> LocalIds(IReadOnlyList<int> classes)
    {
        var local = new Dictionary<int, int>(classes.Count);
        for (int i = 0; i < classes.Count; i++)
            if (!local.TryAdd(classes[i], i))
                throw new InvalidDataException($"class {classes[i]} is listed twice in [{string.Join(",", classes)}]");
        return local;
    }
}
