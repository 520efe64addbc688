using System.Security.Cryptography;
using BitActors.Streams.Images;

namespace BitActors.Streams.Datasets;

/// <summary>
/// CIFAR-10/100 binary version (https://www.cs.toronto.edu/~kriz/cifar.html). CIFAR-10: files
/// <c>data_batch_1..5.bin</c> (train) and <c>test_batch.bin</c>, records of 1 label byte + 3072 pixel bytes
/// (32×32, planes R, G, B). CIFAR-100: <c>train.bin</c> and <c>test.bin</c>, records of a coarse and a fine
/// label byte + 3072 bytes; the fine label (100 classes) is used. Each image is encoded to PNG when it is published.
/// Class names come from <c>batches.meta.txt</c> / <c>fine_label_names.txt</c> when present.
/// </summary>
public static class CifarDataset
{
    private const int Side = 32, Pixels = Side * Side * 3;

    public static DatasetSource Load(string name, string directory, bool cifar100, int? limitPerSplit = null)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"CIFAR source folder not found: {directory}");
        int labelBytes = cifar100 ? 2 : 1, classes = cifar100 ? 100 : 10;
        var layout = cifar100
            ? new[] { ("train", new[] { "train.bin" }), ("test", new[] { "test.bin" }) }
            : new[] { ("train", Enumerable.Range(1, 5).Select(i => $"data_batch_{i}.bin").ToArray()), ("test", new[] { "test_batch.bin" }) };
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var splits = new List<DatasetSplit>();
        foreach (var (split, files) in layout)
        {
            // The batch files stay in memory (a record is a slice of them); each PNG is encoded when it is read.
            var records = new List<(byte Label, ReadOnlyMemory<byte> Chw)>();
            foreach (var file in files)
            {
                var path = Path.Combine(directory, file);
                if (!File.Exists(path)) throw new FileNotFoundException($"CIFAR file '{file}' not found in {directory}", path);
                var bytes = File.ReadAllBytes(path);
                hash.AppendData(bytes);
                int recordSize = labelBytes + Pixels;
                if (bytes.Length == 0 || bytes.Length % recordSize != 0)
                    throw new InvalidDataException($"{path}: {bytes.Length} bytes is not a whole number of {recordSize}-byte CIFAR records (truncated, or the other CIFAR variant?)");
                for (int at = 0; at < bytes.Length; at += recordSize)
                {
                    var label = bytes[at + labelBytes - 1];
                    if (label >= classes) throw new InvalidDataException($"{path}: record {at / recordSize} has label {label}, outside 0..{classes - 1}");
                    records.Add((label, bytes.AsMemory(at + labelBytes, Pixels)));
                }
            }
            var count = Math.Min(records.Count, limitPerSplit ?? int.MaxValue);
            splits.Add(new DatasetSplit(split, count, i => new LabelledImage(i, [records[i].Label], ImageCodec.EncodePng(ToHwc(records[i].Chw.Span), Side, Side, 3))));
        }
        return new DatasetSource(name, ClassNames(directory, cifar100, classes), Side, Side, 3, false, Convert.ToHexStringLower(hash.GetHashAndReset()), splits);
    }

    private static byte[] ToHwc(ReadOnlySpan<byte> chw)
    {
        var hwc = new byte[Pixels];
        const int plane = Side * Side;
        for (int p = 0; p < plane; p++)
        {
            hwc[p * 3] = chw[p];
            hwc[p * 3 + 1] = chw[plane + p];
            hwc[p * 3 + 2] = chw[2 * plane + p];
        }
        return hwc;
    }

    private static IReadOnlyList<string> ClassNames(string directory, bool cifar100, int classes)
    {
        var path = Path.Combine(directory, cifar100 ? "fine_label_names.txt" : "batches.meta.txt");
        var names = File.Exists(path) ? File.ReadAllLines(path).Where(l => l.Trim().Length > 0).Select(l => l.Trim()).ToArray() : [];
        return names.Length == classes ? names : Enumerable.Range(0, classes).Select(i => i.ToString()).ToArray();
    }
}
