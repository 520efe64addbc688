namespace BitActors.Streams.Datasets;

/// <summary>
/// One encoded image and its class ids (several for multi-label data), as published to Kafka.
/// <c>Origin</c> names where it came from (an ImageFolder file's relative path) for error messages.
/// </summary>
public sealed record LabelledImage(long Index, int[] Labels, byte[] Encoded, string ContentType = "image/png", string? Origin = null)
{
    public string Describe(string split) => Origin ?? $"{split} image #{Index}";
}

/// <summary>A split of a dataset ready to publish.</summary>
public sealed record DatasetSplit(string Name, IReadOnlyList<LabelledImage> Images);

/// <summary>A whole dataset ready to publish: its splits and what the manifest says about it.</summary>
public sealed record DatasetSource(
    string Name,
    IReadOnlyList<string> Classes,
    int ImageHeight,
    int ImageWidth,
    int Channels,
    bool MultiLabel,
    string ContentHash,
    IReadOnlyList<DatasetSplit> Splits);
