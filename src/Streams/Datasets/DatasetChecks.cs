namespace BitActors.Streams.Datasets;

/// <summary>
/// What a dataset must satisfy before anything of it is published: every image has bytes and at least
/// one label, every label is one of the dataset's classes, and no index (hence no record key) appears
/// twice in a split. A dataset that fails is refused whole, naming the first problems.
/// </summary>
public static class DatasetChecks
{
    private const int Named = 10;

    public static IReadOnlyList<string> Problems(DatasetSource dataset)
    {
        var problems = new List<string>();
        int classes = dataset.Classes.Count;
        foreach (var split in dataset.Splits)
        {
            var seen = new HashSet<long>();
            foreach (var image in split.Images)
            {
                if (image is null)
                {
                    problems.Add($"{split.Name}: a missing image");
                    continue;
                }
                var where = $"{split.Name} #{image.Index}";
                if (!seen.Add(image.Index))
                    problems.Add($"{where}: duplicate index (record key {dataset.Name}/{split.Name}/{image.Index:D8} would be published twice)");
                if (image.Encoded is null || image.Encoded.Length == 0) problems.Add($"{where}: empty image (no bytes)");
                if (image.Labels is null || image.Labels.Length == 0) problems.Add($"{where}: no label");
                else if (image.Labels.Where(l => l < 0 || l >= classes).Select(l => (int?)l).FirstOrDefault() is int bad)
                    problems.Add($"{where}: label {bad} is outside the dataset's {classes} classes (0–{classes - 1})");
            }
        }
        return problems;
    }

    /// <summary>Throws when <see cref="Problems"/> finds any, naming the first ones.</summary>
    public static void Validate(DatasetSource dataset)
    {
        var problems = Problems(dataset);
        if (problems.Count == 0) return;
        throw new InvalidDataException($"dataset '{dataset.Name}' has {problems.Count} problem(s); nothing was published: " +
            string.Join("; ", problems.Take(Named)) + (problems.Count > Named ? "; …" : ""));
    }
}
