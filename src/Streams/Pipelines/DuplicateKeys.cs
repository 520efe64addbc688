using Akka;
using Akka.Streams.Dsl;
using BitActors.Streams.Kafka;

namespace BitActors.Streams.Pipelines;

/// <summary>
/// Refuses a record whose key was already seen in the same epoch: a sample published twice would be
/// trained on twice. The first one goes on; the later ones are reported with where the first was. Keys
/// are remembered as 64-bit FNV-1a hashes (a few tens of bytes each), forgotten when the epoch changes.
/// Records without a key are not checked.
/// </summary>
public static class DuplicateKeys
{
    public static Source<ImageRecord, NotUsed> Refuse(Source<ImageRecord, NotUsed> records, Action<RejectedRecord>? onRejected) =>
        records.StatefulSelectMany<ImageRecord, ImageRecord, NotUsed>(() =>
        {
            int epoch = int.MinValue;
            var seen = new Dictionary<ulong, (int Partition, long Offset)>();
            return record =>
            {
                if (record.Epoch != epoch)
                {
                    epoch = record.Epoch;
                    seen.Clear();
                }
                if (record.Key.Length == 0 || seen.TryAdd(Hash(record.Key), (record.Partition, record.Offset))) return [record];
                var first = seen[Hash(record.Key)];
                onRejected?.Invoke(new RejectedRecord(record,
                    $"duplicate key '{record.Key}' in epoch {record.Epoch}: already read at partition {first.Partition} offset {first.Offset}"));
                return [];
            };
        });

    private static ulong Hash(string key)
    {
        ulong hash = 14695981039346656037UL;
        foreach (char c in key)
        {
            hash = (hash ^ (byte)c) * 1099511628211UL;
            hash = (hash ^ (byte)(c >> 8)) * 1099511628211UL;
        }
        return hash;
    }
}
