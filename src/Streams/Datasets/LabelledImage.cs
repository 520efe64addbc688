using System.Collections;

namespace BitActors.Streams.Datasets;

/// <summary>
/// One encoded image and its class ids (several for multi-label data), as published to Kafka.
/// <c>Origin</c> names where it came from (an ImageFolder file's relative path) for error messages.
/// </summary>
public sealed record LabelledImage(long Index, int[] Labels, byte[] Encoded, string ContentType = "image/png", string? Origin = null)
{
    public string Describe(string split) => Origin ?? $"{split} image #{Index}";
}

/// <summary>
/// A split of a dataset to publish, read on demand: <c>Count</c> images at positions 0..Count-1 in index order
/// (indexes strictly increasing), <c>Read</c> encodes or reads the one at a position — thread-safe, holding
/// nothing once returned, throwing <see cref="InvalidImageException"/> for an image that cannot be published.
/// <c>Skipped</c>: source files the dataset left out (<c>publish --skip-invalid</c>), named with their reason.
/// </summary>
public sealed record DatasetSplit(string Name, int Count, Func<int, LabelledImage> Read, IReadOnlyList<SkippedImage>? Skipped = null)
{
    /// <summary>A split whose images are already in memory (tests, benchmarks).</summary>
    public DatasetSplit(string name, IReadOnlyList<LabelledImage> images) : this(name, images.Count, i => images[i]) { }

    /// <summary>The images, each read when enumerated or indexed (nothing is kept).</summary>
    public IReadOnlyList<LabelledImage> Images => new OnDemand(Count, Read);

    private sealed class OnDemand(int count, Func<int, LabelledImage> read) : IReadOnlyList<LabelledImage>
    {
        public int Count => count;

        public LabelledImage this[int index] => (uint)index < (uint)count ? read(index) : throw new ArgumentOutOfRangeException(nameof(index));

        public IEnumerator<LabelledImage> GetEnumerator()
        {
            for (int i = 0; i < count; i++) yield return read(i);
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}

/// <summary>A source file or image left out of a split, and why (a line of the skipped list).</summary>
public sealed record SkippedImage(string Origin, string Reason)
{
    public override string ToString() => $"{Origin}: {Reason}";
}

/// <summary>An image that cannot be published: its origin and the reason, said by <see cref="DatasetSplit.Read"/>.</summary>
public sealed class InvalidImageException(string origin, string reason) : Exception($"{origin}: {reason}")
{
    public string Origin { get; } = origin;

    public string Reason { get; } = reason;
}

/// <summary>
/// A whole dataset ready to publish: its splits and what the manifest says about it. <c>ContentHash</c>
/// describes the images, never the order they are published in.
/// </summary>
public sealed record DatasetSource(
    string Name,
    IReadOnlyList<string> Classes,
    int ImageHeight,
    int ImageWidth,
    int Channels,
    bool MultiLabel,
    string ContentHash,
    IReadOnlyList<DatasetSplit> Splits);
