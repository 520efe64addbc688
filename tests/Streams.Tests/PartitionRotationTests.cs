using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;

namespace BitActors.Streams.Tests;

/// <summary>Ordered mode's turns and bounded queues, and the manifest check's refusal, without a broker.</summary>
public sealed class PartitionRotationTests
{
    /// <summary>
    /// A broker that delivers the first unpaused partition's next record, partition 0 first: partition 0 runs far ahead
    /// of its turns unless it is paused. Returns the emitted order and the most records queued.
    /// </summary>
    private static (List<int> Order, int MaxQueued) Simulate(int partitions, int perPartition, int limit)
    {
        var rotation = new PartitionRotation<string>(Enumerable.Range(0, partitions), limit);
        var next = new int[partitions];
        var paused = new bool[partitions];
        var order = new List<int>();
        while (!rotation.Finished)
        {
            while (rotation.TryTake(out var record)) order.Add(int.Parse(record!));
            foreach (var p in rotation.Resumable()) paused[p] = false;
            if (rotation.Finished) break;
            int from = Enumerable.Range(0, partitions).First(p => !paused[p] && next[p] < perPartition);
            int index = from + partitions * next[from]++;
            bool last = next[from] == perPartition;
            if (rotation.Add(from, index.ToString(), last) || last) paused[from] = true;
        }
        return (order, rotation.MaxQueued);
    }

    [Fact]
    public void QueuedRecordsStayBoundedWhenOnePartitionIsDeliveredFarAheadAndTheOrderIsExact()
    {
        var (order, maxQueued) = Simulate(partitions: 5, perPartition: 2_000, limit: 16);
        Assert.Equal(Enumerable.Range(0, 10_000), order);
        Assert.InRange(maxQueued, 16, 5 * 16);
    }

    [Fact]
    public void APartitionWithFewerRecordsLeavesTheRotationAndTheOthersGoOn()
    {
        var rotation = new PartitionRotation<string>([2, 0, 1], limit: 4);
        rotation.Add(0, "a0", last: false);
        rotation.Add(1, "b0", last: true);
        Assert.False(rotation.TryTake(out _)); // partition 2's turn, nothing of it yet
        rotation.Add(2, "c0", last: false);
        rotation.Add(2, "c1", last: true);
        rotation.Add(0, "a1", last: true);
        var taken = new List<string>();
        while (rotation.TryTake(out var r)) taken.Add(r!);
        Assert.Equal(["c0", "a0", "b0", "c1", "a1"], taken);
        Assert.True(rotation.Finished);
    }

    [Fact]
    public void TheTurnOrderIsAPermutationThatRepeatsForASeedAndEpoch()
    {
        var a = PartitionRotation<string>.Order(Enumerable.Range(0, 12), seed: 5, epoch: 2);
        Assert.Equal(Enumerable.Range(0, 12), a.Order());
        Assert.Equal(a, PartitionRotation<string>.Order(Enumerable.Range(0, 12).Reverse(), seed: 5, epoch: 2));
        Assert.NotEqual(a, PartitionRotation<string>.Order(Enumerable.Range(0, 12), seed: 5, epoch: 3));
        Assert.NotEqual(a, PartitionRotation<string>.Order(Enumerable.Range(0, 12), seed: 6, epoch: 2));
    }

    [Fact]
    public void RecordsDeletedBelowTheStartAreRefusedWithTheCountsOfThePartition()
    {
        var split = new SplitManifest("train", "bit.data.x.train", 4, 6_120, [1_530, 1_530, 1_530, 1_530], [0, 0, 0, 0]);
        var e = Assert.Throws<DataLossException>(() => SplitOffsets.Verify(split, [(0, 1_530), (0, 1_530), (0, 1_600), (326, 1_530)]));
        Assert.StartsWith("topic 'bit.data.x.train' partition 3 holds 1,204 of its 1,530 records: records were deleted or expired (retention?)", e.Message);
        SplitOffsets.Verify(split, [(0, 1_530), (0, 1_530), (0, 1_600), (0, 1_530)]); // more than promised is fine: later records are not read
    }
}
