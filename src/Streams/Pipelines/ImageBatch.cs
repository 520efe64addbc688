namespace BitActors.Streams.Pipelines;

/// <summary>
/// A batch ready for a trainer: NCHW floats in [-1, 1] in one contiguous array (the tensor's memory
/// layout, so the trainer wraps it without reshuffling) and one class id per image.
/// </summary>
public sealed record ImageBatch(float[] Pixels, long[] Shape, int[] Labels)
{
    public int Count => Labels.Length;
}

/// <summary>One augmented image and its (task-local) class id.</summary>
public sealed record Sample(float[] Chw, int Label, long Index);

/// <summary>
/// The classes a task uses, mapped to task-local ids 0..n-1 (e.g. Fashion-MNIST classes 5–9 → 0–4).
/// Single-label only for now; a multi-label record is accepted when its first label is in the subset.
/// </summary>
public sealed record ClassSubset(IReadOnlyList<int> Classes)
{
    public static ClassSubset Range(int first, int count) => new(Enumerable.Range(first, count).ToArray());

    public int Count => Classes.Count;

    public bool Contains(int[] labels) => labels.Length > 0 && Classes.Contains(labels[0]);

    public int Map(int[] labels)
    {
        var i = labels.Length == 0 ? -1 : Classes.ToList().IndexOf(labels[0]);
        return i >= 0 ? i : throw new InvalidDataException($"label {string.Join(',', labels)} is not one of this task's classes {string.Join(',', Classes)}");
    }

    public override string ToString() => $"[{string.Join(",", Classes)}]";
}
