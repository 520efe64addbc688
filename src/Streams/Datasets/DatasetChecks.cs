namespace BitActors.Streams.Datasets;

/// <summary>
/// What each image must satisfy before anything of its dataset is published: it has bytes and at least one
/// label, every label is one of the dataset's classes, and its index is greater than the one before it in
/// the split (so no index, hence no record key, appears twice — checked with nothing but the last index).
/// </summary>
public static class DatasetChecks
{
    /// <summary>Most problems named in a refusal.</summary>
    public const int Named = 10;

    /// <summary>What is wrong with the image (empty: nothing); <paramref name="previousIndex"/> is the index before it in the split.</summary>
    public static IEnumerable<string> Problems(LabelledImage image, long? previousIndex, string dataset, string split, int classes)
    {
        if (previousIndex is { } before && image.Index <= before)
            yield return image.Index == before
                ? $"duplicate index (record key {dataset}/{split}/{image.Index:D8} would be published twice)"
                : $"index {image.Index} comes after index {before}: indexes must increase through a split";
        if (image.Encoded is null || image.Encoded.Length == 0) yield return "empty image (no bytes)";
        if (image.Labels is null || image.Labels.Length == 0) yield return "no label";
        else if (image.Labels.Where(l => l < 0 || l >= classes).Select(l => (int?)l).FirstOrDefault() is int bad)
            yield return $"label {bad} is outside the dataset's {classes} classes (0–{classes - 1})";
    }

    /// <summary>The refusal of a dataset with problems, naming the first ones.</summary>
    public static InvalidDataException Refusal(string dataset, IReadOnlyCollection<string> problems, int count) =>
        new($"dataset '{dataset}' has {count} problem(s); nothing was published: " +
            string.Join("; ", problems.Take(Named)) + (count > Named ? "; …" : "") + ". Publish with --skip-invalid to leave them out.");
}
