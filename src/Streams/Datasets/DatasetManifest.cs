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
/// </summary>
public sealed record SplitManifest(string Name, string Topic, int Partitions, long Records, IReadOnlyList<long> RecordsPerPartition,
    IReadOnlyList<long>? StartOffsets = null)
{
    public long StartOffset(int partition) => StartOffsets is { } starts ? starts[partition] : 0;

    public long EndOffset(int partition) => StartOffset(partition) + RecordsPerPartition[partition];
}
