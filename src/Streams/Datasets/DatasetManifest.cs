using System.Text.Json;
using System.Text.Json.Serialization;

namespace BitActors.Streams.Datasets;

/// <summary>The JSON value on <c>bit.datasets</c> (key = dataset name).</summary>
public sealed record DatasetManifest(
    string Name,
    IReadOnlyList<string> Classes,
    bool MultiLabel,
    ImageSize ImageSize,
    string ContentHash,
    IReadOnlyList<SplitManifest> Splits,
    DateTimeOffset PublishedAt)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = false,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public SplitManifest Split(string name) => Splits.FirstOrDefault(s => s.Name == name)
        ?? throw new KeyNotFoundException($"dataset '{Name}' has no split '{name}' (it has: {string.Join(", ", Splits.Select(s => s.Name))})");

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    public static DatasetManifest FromJson(byte[] json) =>
        JsonSerializer.Deserialize<DatasetManifest>(json, Json) ?? throw new InvalidDataException("empty dataset manifest");
}

public sealed record ImageSize(int Height, int Width, int Channels);

/// <summary>
/// A split's topic, partition count and exact record count (per partition too). <c>StartOffsets</c>: the
/// offset of each partition's first record (absent in manifests written before it was recorded: 0), so
/// partition p's records are offsets [start, start + count) — the end offsets an epoch reads to.
/// <c>ClassCounts</c>: images per class id (an image counts once for each of its labels; absent in older
/// manifests). <c>Skipped</c>: source files left out by <c>publish --skip-invalid</c>. <c>OrderSeed</c>: the
/// seed of the random order the records were written in (absent: written in index order by an older version).
/// </summary>
public sealed record SplitManifest(string Name, string Topic, int Partitions, long Records, IReadOnlyList<long> RecordsPerPartition,
    IReadOnlyList<long>? StartOffsets = null, IReadOnlyList<long>? ClassCounts = null, long Skipped = 0, int? OrderSeed = null)
{
    public long StartOffset(int partition) => StartOffsets is { } starts ? starts[partition] : 0;

    public long EndOffset(int partition) => StartOffset(partition) + RecordsPerPartition[partition];

    /// <summary>How the records lie on the topic (partitions, write order): a resume must find the same, or it would replay other batches.</summary>
    public string Layout => $"{Partitions} partitions, written {(OrderSeed is int seed ? $"in the order of seed {seed}" : "in index order")}";

    /// <summary>Images of the given classes in this split (null when the manifest does not count classes).</summary>
    public long? ImagesOf(IEnumerable<int> classIds) => ClassCounts is { } counts ? classIds.Sum(c => c >= 0 && c < counts.Count ? counts[c] : 0) : null;
}
