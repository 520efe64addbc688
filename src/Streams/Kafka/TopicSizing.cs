namespace BitActors.Streams.Kafka;

/// <summary>A topic to create: name, partition count, whether it is compacted.</summary>
public sealed record TopicSpec(string Name, int Partitions, bool Compacted = false);

/// <summary>
/// Sizes partitions so that no partition comes near the embedded broker's retention (about 5 MB or 100k
/// messages per partition, beyond which it silently drops the oldest data): at most 2 MiB of record
/// bytes and 25k records per partition, a 2.5× margin on bytes and 4× on records.
/// </summary>
public static class TopicSizing
{
    public const long MaxBytesPerPartition = 2L * 1024 * 1024;
    public const int MaxRecordsPerPartition = 25_000;

    /// <summary>Record overhead counted on top of key and value: headers, batch framing, varints.</summary>
    public const int OverheadPerRecord = 96;

    public static int PartitionsFor(long records, long payloadBytes, int minimum = 1)
    {
        var bytes = payloadBytes + records * OverheadPerRecord;
        var byBytes = (int)Math.Ceiling(bytes / (double)MaxBytesPerPartition);
        var byCount = (int)Math.Ceiling(records / (double)MaxRecordsPerPartition);
        return Math.Max(minimum, Math.Max(byBytes, byCount));
    }
}
