using System.Buffers.Binary;
using System.IO.Compression;

namespace BitActors.Streams.Tests;

/// <summary>Writes small gzip-compressed IDX files shaped like Fashion-MNIST's.</summary>
internal static class TestData
{
    public static DirectoryInfo WriteIdx(int train, int test, int size = 28, int classes = 10)
    {
        var dir = Directory.CreateTempSubdirectory("bitactors-idx");
        Write(dir.FullName, "train", train, size, classes, seed: 1);
        Write(dir.FullName, "t10k", test, size, classes, seed: 2);
        return dir;
    }

    private static void Write(string dir, string prefix, int count, int size, int classes, int seed)
    {
        var random = new Random(seed);
        WriteIdx(dir, prefix, count, size, i => i % classes, i =>
        {
            var pixels = new byte[size * size];
            for (int p = 0; p < pixels.Length; p++) pixels[p] = (byte)Math.Clamp(i % classes * 25 + random.Next(30), 0, 255);
            return pixels;
        });
    }

    /// <summary>One IDX pair, PREFIX-images-idx3-ubyte.gz and PREFIX-labels-idx1-ubyte.gz: image i has <paramref name="label"/>(i) and <paramref name="pixels"/>(i), called in index order.</summary>
    public static void WriteIdx(string dir, string prefix, int count, int size, Func<int, int> label, Func<int, byte[]> pixels)
    {
        var images = new byte[16 + count * size * size];
        BinaryPrimitives.WriteInt32BigEndian(images, 0x803);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(8), size);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(12), size);
        var labels = new byte[8 + count];
        BinaryPrimitives.WriteInt32BigEndian(labels, 0x801);
        BinaryPrimitives.WriteInt32BigEndian(labels.AsSpan(4), count);
        for (int i = 0; i < count; i++)
        {
            labels[8 + i] = (byte)label(i);
            pixels(i).CopyTo(images.AsSpan(16 + i * size * size));
        }
        File.WriteAllBytes(Path.Combine(dir, $"{prefix}-images-idx3-ubyte.gz"), Gzip(images));
        File.WriteAllBytes(Path.Combine(dir, $"{prefix}-labels-idx1-ubyte.gz"), Gzip(labels));
    }

    private static byte[] Gzip(byte[] data)
    {
        using var memory = new MemoryStream();
        using (var gzip = new GZipStream(memory, CompressionLevel.Fastest)) gzip.Write(data);
        return memory.ToArray();
    }
}
