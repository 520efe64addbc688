using Akka;
using Akka.Streams.Dsl;
using BitActors.Streams.Kafka;

namespace BitActors.Streams.Pipelines;

/// <summary>
/// Refuses a record read a second time in the same epoch (a partition delivered again from an earlier offset: a
/// rebalance, a re-fetch), so no sample is trained on twice in an epoch. Within an epoch every partition is read
/// forward, so it is enough to remember, per partition, the furthest offset read: memory grows with the partitions,
/// never with the records. The same image under two offsets cannot get this far: <c>publish</c> refuses duplicate
/// indexes, its producer is idempotent, and readers read exactly the records the manifest counted.
/// </summary>
public static class RereadRecords
{
    public static Source<ImageRecord, NotUsed> Refuse(Source<ImageRecord, NotUsed> records, Action<RejectedRecord>? onRejected) =>
        records.StatefulSelectMany<ImageRecord, ImageRecord, NotUsed>(() =>
        {
            int epoch = int.MinValue;
            var furthest = new Dictionary<(string Topic, int Partition), long>();
            return record =>
            {
                if (record.Epoch != epoch)
                {
                    epoch = record.Epoch;
                    furthest.Clear();
                }
                var partition = (record.Topic, record.Partition);
                if (!furthest.TryGetValue(partition, out var last) || record.Offset > last)
                {
                    furthest[partition] = record.Offset;
                    return [record];
                }
                onRejected?.Invoke(new RejectedRecord(record,
                    $"read twice in epoch {record.Epoch}: partition {record.Partition} offset {record.Offset} (already past offset {last})"));
                return [];
            };
        });
}
