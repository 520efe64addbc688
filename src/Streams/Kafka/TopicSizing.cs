namespace BitActors.Streams.Kafka;

/// <summary>
/// A topic to create: name, partition count, whether it is compacted, whether it keeps its records forever
/// (<c>retention.ms=-1</c>, <c>retention.bytes=-1</c>: a dataset is data, not a stream).
/// </summary>
public sealed record TopicSpec(string Name, int Partitions, bool Compacted = false, bool KeepForever = false);

/// <summary>
/// How many partitions a data topic gets. On an external broker: the number asked for
/// (<c>publish --partitions</c>, <c>bitactors.publish.partitions</c>). On the embedded broker, sized so that no
/// partition comes near its retention (about 5 MB or 100k messages per partition, beyond which it silently drops
/// the oldest data): at most 2 MiB of record bytes and 25k records per partition, a 2.5× margin on bytes and 4×
/// on records; a smaller number asked for is raised to that, with a warning.
/// </summary>
public static class TopicSizing
{
    public const long MaxBytesPerPartition = 2L * 1024 * 1024;
    public const int MaxRecordsPerPartition = 25_000;

    /// <summary>Record overhead counted on top of key and value: headers, batch framing, varints.</summary>
    public const int OverheadPerRecord = 96;

    /// <summary>The embedded broker's capacity-based minimum.</summary>
    public static int PartitionsFor(long records, long payloadBytes, int minimum = 1)
    {
        var bytes = payloadBytes + records * OverheadPerRecord;
        var byBytes = (int)Math.Ceiling(bytes / (double)MaxBytesPerPartition);
        var byCount = (int)Math.Ceiling(records / (double)MaxRecordsPerPartition);
        return Math.Max(minimum, Math.Max(byBytes, byCount));
    }

    /// <summary>The partitions of a data topic and, when the number asked for was raised, why.</summary>
    /// <param name="requested">Asked for (<c>--partitions</c>); null: <paramref name="external"/> on an external broker, capacity on the embedded one.</param>
    public static (int Partitions, string? Warning) Plan(string topic, int? requested, int external, bool embedded, long records, long payloadBytes)
    {
        if (requested is < 1 || external < 1) throw new ArgumentOutOfRangeException(nameof(requested), "partitions must be at least 1");
        if (!embedded) return (requested ?? external, null);
        int minimum = PartitionsFor(records, payloadBytes);
        if (requested is not { } asked || asked >= minimum) return (requested ?? minimum, null);
        return (minimum, $"{topic}: {asked} partition(s) raised to {minimum}: the embedded broker keeps only about 5 MB or 100k records " +
            $"a partition and silently drops older ones, so fewer would lose data");
    }
}
