namespace BitActors.Streams.Datasets;

/// <summary>
/// The first pass of a publish over one split: every image read once (a window of them at a time, in
/// parallel), checked (<see cref="DatasetChecks"/>, the record limit, <see cref="OversizedImages"/>) and counted,
/// in index order. What it keeps grows with the classes and the bad images, never with the good ones: counts per
/// class, the positions to leave out, the problems named.
/// </summary>
public sealed class SplitCheck
{
    /// <summary>Images checked per worker in one window: enough that a slow image rarely idles the others.</summary>
    private const int Window = 16;

    private SplitCheck(DatasetSplit split, int classes)
    {
        Split = split;
        ClassCounts = new long[classes];
        Skipped.AddRange(split.Skipped ?? []);
    }

    public DatasetSplit Split { get; }

    /// <summary>Images that pass, and their key + value bytes as published (after any resizing).</summary>
    public long Good { get; private set; }

    public long PayloadBytes { get; private set; }

    /// <summary>Good images per class id (an image counts once per label).</summary>
    public long[] ClassCounts { get; }

    /// <summary>Positions of the split not published (bad images, with <c>--skip-invalid</c>).</summary>
    public HashSet<int> LeftOut { get; } = [];

    /// <summary>Everything left out of the split, by the dataset (bad source files) and by this check, with reasons.</summary>
    public List<SkippedImage> Skipped { get; } = [];

    /// <summary>Problems that refuse the dataset without <c>--skip-invalid</c>: the first ones named, all counted.</summary>
    public List<string> Problems { get; } = [];

    public int ProblemCount { get; private set; }

    /// <summary>Images over the record limit that cannot be fitted: the first ones named ("origin (reason)"), all counted.</summary>
    public List<string> Oversized { get; } = [];

    public int OversizedCount { get; private set; }

    /// <summary>Whether any image was resized (<c>--resize-oversized</c>): the content hash says so.</summary>
    public bool Resized { get; private set; }

    public static SplitCheck Run(DatasetSource dataset, DatasetSplit split, long maxRecordBytes, int? resizeMaxSide, int parallelism, CancellationToken cancellationToken)
    {
        var check = new SplitCheck(split, dataset.Classes.Count);
        int workers = parallelism > 0 ? parallelism : Environment.ProcessorCount;
        long? previous = null;
        var window = new (LabelledImage? Image, (LabelledImage? Image, string? Reason, bool Resized) Fit, string? Failure)[workers * Window];
        for (int start = 0; start < split.Count; start += window.Length)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int length = Math.Min(window.Length, split.Count - start);
            Parallel.For(0, length, new ParallelOptions { MaxDegreeOfParallelism = workers }, i =>
            {
                try
                {
                    var image = split.Read(start + i);
                    window[i] = (image, OversizedImages.Fit(dataset.Name, split.Name, image, maxRecordBytes, resizeMaxSide), null);
                }
                catch (InvalidImageException e) { window[i] = (null, default, e.Message); }
            });
            for (int i = 0; i < length; i++)
            {
                check.Add(dataset, start + i, window[i].Image, window[i].Fit, window[i].Failure, previous);
                previous = window[i].Image?.Index ?? previous;
                window[i] = default;
            }
        }
        return check;
    }

    private void Add(DatasetSource dataset, int position, LabelledImage? image, (LabelledImage? Image, string? Reason, bool Resized) fit, string? failure, long? previous)
    {
        if (image is null)
        {
            Leave(position, new SkippedImage($"{Split.Name} image at position {position}", failure!), [failure!]);
            return;
        }
        var problems = DatasetChecks.Problems(image, previous, dataset.Name, Split.Name, dataset.Classes.Count).ToList();
        if (problems.Count > 0)
        {
            Leave(position, new SkippedImage(image.Describe(Split.Name), string.Join("; ", problems)), problems.Select(p => $"{Split.Name} #{image.Index}: {p}"));
            return;
        }
        if (fit.Image is not { } published)
        {
            LeftOut.Add(position);
            Skipped.Add(new SkippedImage(image.Describe(Split.Name), $"over the record limit: {fit.Reason}"));
            if (OversizedCount++ < DatasetChecks.Named) Oversized.Add($"{image.Describe(Split.Name)} ({fit.Reason})");
            return;
        }
        Resized |= fit.Resized;
        Good++;
        PayloadBytes += published.Encoded.Length + DatasetPublisher.KeyOf(dataset.Name, Split.Name, published.Index).Length;
        foreach (var label in published.Labels) ClassCounts[label]++;
    }

    private void Leave(int position, SkippedImage skipped, IEnumerable<string> problems)
    {
        LeftOut.Add(position);
        Skipped.Add(skipped);
        foreach (var problem in problems)
            if (ProblemCount++ < DatasetChecks.Named) Problems.Add(problem);
    }
}
