using System.Buffers.Binary;
using System.IO.Compression;
using BitActors.Streams.Datasets;
using CsCheck;

namespace BitActors.Streams.Tests;

/// <summary>
/// Property-based checks (CsCheck) of the dataset parsers: well-formed IDX and CIFAR files of any small
/// shape load with exactly their images and labels; the same files truncated, bit-flipped or replaced by
/// random bytes either load or are refused with an <see cref="InvalidDataException"/> naming the file,
/// never another exception.
/// </summary>
public sealed class DatasetParserPropertyTests : IDisposable
{
    private readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("bitactors-parser-props");
    private int cases;

    public void Dispose() => dir.Delete(true);

    private string NewCase() => Directory.CreateDirectory(Path.Combine(dir.FullName, $"case{Interlocked.Increment(ref cases)}")).FullName;

    private static byte[] IdxImages(int count, int height, int width, byte fill)
    {
        var bytes = new byte[16 + count * height * width];
        BinaryPrimitives.WriteInt32BigEndian(bytes, 0x803);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), height);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), width);
        bytes.AsSpan(16).Fill(fill);
        return bytes;
    }

    private static byte[] IdxLabels(byte[] labels)
    {
        var bytes = new byte[8 + labels.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, 0x801);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), labels.Length);
        labels.CopyTo(bytes, 8);
        return bytes;
    }

    private static byte[] Gzip(byte[] data)
    {
        using var memory = new MemoryStream();
        using (var gzip = new GZipStream(memory, CompressionLevel.Fastest)) gzip.Write(data);
        return memory.ToArray();
    }

    /// <summary>A damage done to a file: none, truncation, one flipped bit, or random bytes instead.</summary>
    private static readonly Gen<Func<byte[], byte[]>> Damage = Gen.OneOf(
        Gen.Const<Func<byte[], byte[]>>(b => b),
        Gen.Double[0, 1].Select<double, Func<byte[], byte[]>>(f => b => b[..(int)(b.Length * f)]),
        Gen.Select(Gen.Double[0, 1], Gen.Int[0, 7]).Select<(double, int), Func<byte[], byte[]>>(t => b =>
        {
            if (b.Length == 0) return b;
            var copy = (byte[])b.Clone();
            copy[(int)(t.Item1 * (b.Length - 1))] ^= (byte)(1 << t.Item2);
            return copy;
        }),
        Gen.Byte.Array[0, 64].Select<byte[], Func<byte[], byte[]>>(r => _ => r));

    private static readonly Gen<(int Count, int Height, int Width, byte[] Labels, bool Gzip)> IdxShape =
        from count in Gen.Int[1, 6]
        from height in Gen.Int[1, 5]
        from width in Gen.Int[1, 5]
        from labels in Gen.Byte[0, 9].Array[count]
        from gzip in Gen.Bool
        select (count, height, width, labels, gzip);

    private DatasetSource WriteAndLoadIdx((int Count, int Height, int Width, byte[] Labels, bool Gzip) s, Func<byte[], byte[]> damageImages, Func<byte[], byte[]> damageLabels)
    {
        var folder = NewCase();
        var suffix = s.Gzip ? ".gz" : "";
        foreach (var prefix in new[] { "train", "t10k" })
        {
            var images = IdxImages(s.Count, s.Height, s.Width, 77);
            var labels = IdxLabels(s.Labels);
            File.WriteAllBytes(Path.Combine(folder, $"{prefix}-images-idx3-ubyte{suffix}"), damageImages(s.Gzip ? Gzip(images) : images));
            File.WriteAllBytes(Path.Combine(folder, $"{prefix}-labels-idx1-ubyte{suffix}"), damageLabels(s.Gzip ? Gzip(labels) : labels));
        }
        return IdxDataset.Load("prop", folder);
    }

    [Fact]
    public void WellFormedIdxFilesLoadWithExactlyTheirImagesAndLabels()
    {
        IdxShape.Sample(s =>
        {
            var dataset = WriteAndLoadIdx(s, b => b, b => b);
            Assert.All(dataset.Splits, split =>
            {
                Assert.Equal(s.Count, split.Images.Count);
                Assert.Equal(s.Labels.Select(l => (int)l), split.Images.Select(i => i.Labels.Single()));
            });
            Assert.Equal((s.Height, s.Width), (dataset.ImageHeight, dataset.ImageWidth));
        }, iter: 40);
    }

    [Fact]
    public void DamagedIdxFilesLoadOrAreRefusedWithAnInvalidDataError()
    {
        Gen.Select(IdxShape, Damage, Damage).Sample((s, damageImages, damageLabels) =>
        {
            try { WriteAndLoadIdx(s, damageImages, damageLabels); }
            catch (InvalidDataException e) { Assert.Contains("idx", e.Message, StringComparison.OrdinalIgnoreCase); }
        }, iter: 150);
    }

    [Fact]
    public void IdxHeadersClaimingNoImagesOrNoPixelsAreRefused()
    {
        foreach (var (count, height, width) in new[] { (0, 4, 4), (2, 0, 4), (2, 4, -1), (-3, 4, 4) })
        {
            var folder = NewCase();
            var images = IdxImages(Math.Max(0, count), Math.Max(0, height), Math.Max(0, width), 1);
            BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(4), count);
            BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(8), height);
            BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(12), width);
            var labels = IdxLabels(new byte[Math.Max(0, count)]);
            BinaryPrimitives.WriteInt32BigEndian(labels.AsSpan(4), count);
            foreach (var prefix in new[] { "train", "t10k" })
            {
                File.WriteAllBytes(Path.Combine(folder, $"{prefix}-images-idx3-ubyte"), images);
                File.WriteAllBytes(Path.Combine(folder, $"{prefix}-labels-idx1-ubyte"), labels);
            }
            Assert.Throws<InvalidDataException>(() => IdxDataset.Load("bad-header", folder));
        }
    }

    [Fact]
    public void AnIdxGzipBombIsRefusedBeforeItIsInflated()
    {
        var folder = NewCase();
        // A valid header claiming 40,000 images of 200x200 (1.6 GB), then zeros: about 1.5 MB compressed.
        var header = IdxImages(0, 0, 0, 0);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), 40_000);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(8), 200);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(12), 200);
        using (var file = File.Create(Path.Combine(folder, "train-images-idx3-ubyte.gz")))
        using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
        {
            gzip.Write(header);
            var zeros = new byte[1 << 20];
            for (int i = 0; i < 1600; i++) gzip.Write(zeros);
        }
        File.WriteAllBytes(Path.Combine(folder, "train-labels-idx1-ubyte.gz"), Gzip(IdxLabels(new byte[40_000])));
        var before = GC.GetTotalAllocatedBytes();
        var e = Assert.Throws<InvalidDataException>(() => IdxDataset.Load("bomb", folder));
        Assert.Contains("decompression bomb", e.Message);
        Assert.True(GC.GetTotalAllocatedBytes() - before < 50_000_000, "the bomb was inflated");
    }

    private static readonly Gen<(bool Cifar100, byte[] Labels)> CifarShape =
        from cifar100 in Gen.Bool
        from labels in Gen.Byte[0, 9].Array[1, 4]
        select (cifar100, labels);

    private DatasetSource WriteAndLoadCifar((bool Cifar100, byte[] Labels) s, Func<byte[], byte[]> damage)
    {
        var folder = NewCase();
        int labelBytes = s.Cifar100 ? 2 : 1, record = labelBytes + 3072;
        var bytes = new byte[s.Labels.Length * record];
        for (int i = 0; i < s.Labels.Length; i++)
        {
            bytes[i * record + labelBytes - 1] = s.Labels[i];
            bytes.AsSpan(i * record + labelBytes, 3072).Fill((byte)(i * 40));
        }
        var files = s.Cifar100 ? new[] { "train.bin", "test.bin" } : Enumerable.Range(1, 5).Select(i => $"data_batch_{i}.bin").Append("test_batch.bin").ToArray();
        foreach (var file in files) File.WriteAllBytes(Path.Combine(folder, file), damage(bytes));
        return CifarDataset.Load("prop", folder, s.Cifar100);
    }

    [Fact]
    public void WellFormedCifarFilesLoadWithExactlyTheirLabels()
    {
        CifarShape.Sample(s =>
        {
            var dataset = WriteAndLoadCifar(s, b => b);
            Assert.Equal(s.Cifar100 ? 100 : 10, dataset.Classes.Count);
            var test = dataset.Splits.Single(x => x.Name == "test");
            Assert.Equal(s.Labels.Select(l => (int)l), test.Images.Select(i => i.Labels.Single()));
            Assert.Equal(s.Labels.Length * (s.Cifar100 ? 1 : 5), dataset.Splits.Single(x => x.Name == "train").Images.Count);
        }, iter: 20);
    }

    [Fact]
    public void DamagedCifarFilesLoadOrAreRefusedWithAnInvalidDataError()
    {
        Gen.Select(CifarShape, Damage).Sample((s, damage) =>
        {
            try { WriteAndLoadCifar(s, damage); }
            catch (InvalidDataException e) { Assert.Contains(".bin", e.Message); }
        }, iter: 60);
    }
}
