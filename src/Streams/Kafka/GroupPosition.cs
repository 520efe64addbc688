using System.Text.Json;
using BitActors.Streams.Datasets;
using Confluent.Kafka;

namespace BitActors.Streams.Kafka;

/// <summary>Where a partition stands in an epoch: every record before <c>From</c> is done, and so are those in <c>Skip</c>.</summary>
public sealed record PartitionPosition(long From, long[] Skip);

/// <summary>
/// Where a member of a consumer group resumes reading a split so that no record is lost or read twice, as plain data
/// (JSON) that a training checkpoint keeps: every epoch before <c>Epoch</c> is done; in the listed epochs each listed
/// partition stands at its <see cref="PartitionPosition"/> (an unlisted one at its start); later epochs are unread.
/// <see cref="Rewind"/> makes it the group's position again: the commits of <c>GROUP.epoch-N</c> are set back to it,
/// and the reader skips the records listed as done beyond <c>From</c> (a shuffle buffer trains records out of order).
/// </summary>
public sealed record GroupPosition(int Epoch, Dictionary<int, Dictionary<int, PartitionPosition>> Epochs)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public string ToJson() => JsonSerializer.Serialize(this);

    public static GroupPosition? FromJson(string? json) => string.IsNullOrEmpty(json) ? null : JsonSerializer.Deserialize<GroupPosition>(json);

    /// <summary>Offsets to skip, by epoch and partition.</summary>
    public Dictionary<(int Epoch, int Partition), HashSet<long>> Skips() =>
        Epochs.SelectMany(e => e.Value.Where(p => p.Value.Skip.Length > 0).Select(p => (Key: (e.Key, p.Key), Skip: p.Value.Skip)))
            .ToDictionary(x => x.Key, x => x.Skip.ToHashSet());

    /// <summary>Where the group stands now: its first epoch not done, each partition at its commit (or its start).</summary>
    public static GroupPosition Standing(KafkaEndpoint endpoint, SplitManifest split, string group)
    {
        var partitions = Enumerable.Range(0, split.Partitions).ToList();
        for (int e = 0; ; e++)
        {
            using var consumer = KafkaClients.CreateConsumer(endpoint, GroupEpochReader.ProgressGroup(group, e));
            var committed = Committed(consumer, split);
            bool empty = partitions.All(p => split.EndOffset(p) == split.StartOffset(p));
            if (!empty && partitions.All(p => committed[p] >= split.EndOffset(p))) continue;
            return new GroupPosition(e, new() { [e] = partitions.ToDictionary(p => p, p => new PartitionPosition(committed[p], [])) });
        }
    }

    /// <summary>
    /// Commits this position as the group's: the listed epochs' partitions at their <c>From</c> (unlisted ones at their
    /// start), and every later epoch that holds commits back at its start. For a group this member reads alone; members
    /// reading beside it may commit over it.
    /// </summary>
    public void Rewind(KafkaEndpoint endpoint, SplitManifest split, string group)
    {
        int last = Epochs.Count == 0 ? Epoch : Math.Max(Epoch, Epochs.Keys.Max());
        var partitions = Enumerable.Range(0, split.Partitions).ToList();
        for (int e = Epoch; ; e++)
        {
            using var consumer = KafkaClients.CreateConsumer(endpoint, GroupEpochReader.ProgressGroup(group, e));
            var committed = Committed(consumer, split);
            var target = partitions.Select(p => Epochs.TryGetValue(e, out var listed) && listed.TryGetValue(p, out var at)
                ? Math.Clamp(at.From, split.StartOffset(p), split.EndOffset(p)) : split.StartOffset(p)).ToArray();
            if (e > last && partitions.All(p => committed[p] == target[p])) return; // not read beyond: nothing later either
            consumer.Commit(partitions.Select(p => new TopicPartitionOffset(split.Topic, p, target[p])));
        }
    }

    /// <summary>Each partition's commit in one epoch's progress group, within [start, end]; its start when it has none.</summary>
    private static long[] Committed(IConsumer<string, byte[]> consumer, SplitManifest split)
    {
        var positions = consumer.Committed(Enumerable.Range(0, split.Partitions).Select(p => new TopicPartition(split.Topic, p)), Timeout);
        return Enumerable.Range(0, split.Partitions).Select(p => positions.FirstOrDefault(c => c.Partition.Value == p) is { } c && c.Offset != Offset.Unset
            ? Math.Clamp(c.Offset.Value, split.StartOffset(p), split.EndOffset(p)) : split.StartOffset(p)).ToArray();
    }
}
