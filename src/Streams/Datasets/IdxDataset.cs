using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;
using BitActors.Streams.Images;

namespace BitActors.Streams.Datasets;

/// <summary>
/// MNIST-style IDX files (images: magic 0x803, labels: magic 0x801), plain or gzip-compressed, as the
/// Debian package <c>dataset-fashion-mnist</c> installs them. Each image is encoded to PNG for Kafka when it is published.
/// </summary>
public static class IdxDataset
{
    public const string FashionMnistDirectory = "/usr/share/datasets/fashion-mnist";

    public static readonly IReadOnlyList<string> FashionMnistClasses =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>Raw images of one IDX file pair.</summary>
    public sealed record RawImages(int Count, int Height, int Width, byte[] Pixels, byte[] Labels);

    /// <summary>
    /// Loads <c>train-*</c> and <c>t10k-*</c> files from <paramref name="directory"/> as splits
    /// <c>train</c> and <c>test</c>; <paramref name="limitPerSplit"/> keeps the first N of each (tests).
    /// </summary>
    public static DatasetSource Load(string name, string directory, IReadOnlyList<string>? classes = null, int? limitPerSplit = null)
    {
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"IDX source folder not found: {directory}");
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var splits = new List<DatasetSplit>();
        int height = 0, width = 0, classCount = 0;
        foreach (var (split, prefix) in new[] { ("train", "train"), ("test", "t10k") })
        {
            var raw = ReadPair(Find(directory, $"{prefix}-images-idx3-ubyte"), Find(directory, $"{prefix}-labels-idx1-ubyte"));
            hash.AppendData(raw.Pixels);
            hash.AppendData(raw.Labels);
            (height, width) = (raw.Height, raw.Width);
            classCount = Math.Max(classCount, raw.Labels.Max() + 1);
            var count = Math.Min(raw.Count, limitPerSplit ?? int.MaxValue);
            int size = raw.Height * raw.Width;
            // The raw file stays in memory; each PNG is encoded when it is read (checked, then published), never all at once.
            splits.Add(new DatasetSplit(split, count, i =>
                new LabelledImage(i, [raw.Labels[i]], ImageCodec.EncodePng(raw.Pixels.AsSpan(i * size, size), raw.Width, raw.Height, 1))));
        }
        classes ??= Enumerable.Range(0, classCount).Select(i => i.ToString()).ToArray();
        if (classes.Count < classCount)
            throw new InvalidDataException($"labels go up to {classCount - 1} but only {classes.Count} class names were given");
        return new DatasetSource(name, classes, height, width, 1, false, Convert.ToHexStringLower(hash.GetHashAndReset()), splits);
    }

    private static string Find(string directory, string stem)
    {
        foreach (var candidate in new[] { stem, stem + ".gz", stem.Replace("-idx", ".idx"), stem.Replace("-idx", ".idx") + ".gz" })
        {
            var path = Path.Combine(directory, candidate);
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException($"IDX file '{stem}' (or '{stem}.gz') not found in {directory}");
    }

    /// <summary>Largest image side an IDX header may claim.</summary>
    public const int MaxSide = 16_384;

    /// <summary>Largest IDX file a header may claim, decompressed (Fashion-MNIST's training images are 47 MB).</summary>
    public const long MaxFileBytes = 1L << 30;

    public static RawImages ReadPair(string imagesPath, string labelsPath)
    {
        var images = ReadAll(imagesPath, 16, h => 16L + (long)BinaryPrimitives.ReadInt32BigEndian(h.AsSpan(4))
            * BinaryPrimitives.ReadInt32BigEndian(h.AsSpan(8)) * BinaryPrimitives.ReadInt32BigEndian(h.AsSpan(12)));
        var labels = ReadAll(labelsPath, 8, h => 8L + BinaryPrimitives.ReadInt32BigEndian(h.AsSpan(4)));
        if (images.Length < 16 || BinaryPrimitives.ReadInt32BigEndian(images) != 0x803)
            throw new InvalidDataException($"{imagesPath}: not an IDX image file (magic 0x00000803 expected)");
        if (labels.Length < 8 || BinaryPrimitives.ReadInt32BigEndian(labels) != 0x801)
            throw new InvalidDataException($"{labelsPath}: not an IDX label file (magic 0x00000801 expected)");
        int count = BinaryPrimitives.ReadInt32BigEndian(images.AsSpan(4));
        int height = BinaryPrimitives.ReadInt32BigEndian(images.AsSpan(8));
        int width = BinaryPrimitives.ReadInt32BigEndian(images.AsSpan(12));
        int labelCount = BinaryPrimitives.ReadInt32BigEndian(labels.AsSpan(4));
        if (count < 1 || height < 1 || width < 1 || height > MaxSide || width > MaxSide)
            throw new InvalidDataException($"{imagesPath}: header claims {count} images of {height}x{width} pixels; at least one image of 1 to {MaxSide} pixels a side is needed");
        if (labelCount != count)
            throw new InvalidDataException($"{labelsPath} has {labelCount} labels but {imagesPath} has {count} images");
        long expected = 16L + (long)count * height * width;
        if (images.Length != expected)
            throw new InvalidDataException($"{imagesPath}: header says {count} images of {height}x{width} ({expected} bytes) but the file has {images.Length} bytes (truncated?)");
        if (labels.Length != 8 + count)
            throw new InvalidDataException($"{labelsPath}: header says {count} labels but the file has {labels.Length - 8}");
        return new RawImages(count, height, width, images[16..], labels[8..]);
    }

    /// <summary>
    /// The file's bytes (decompressed), read no further than its header claims: a small .gz can inflate to
    /// gigabytes (a decompression bomb), so a header claiming more than <see cref="MaxFileBytes"/> is refused
    /// before anything is inflated, and reading stops one byte past the claim (the caller reports the excess).
    /// </summary>
    private static byte[] ReadAll(string path, int headerLength, Func<byte[], long> claimedLength)
    {
        using var file = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(file, CompressionMode.Decompress) : file;
        try
        {
            var header = new byte[headerLength];
            int got = stream.ReadAtLeast(header, headerLength, throwOnEndOfStream: false);
            if (got < headerLength) return header[..got];
            long claimed = claimedLength(header);
            if (claimed > MaxFileBytes)
                throw new InvalidDataException($"{path}: header claims {claimed:N0} bytes, more than {MaxFileBytes >> 20} MB (decompression bomb?)");
            // Grown as data arrives (a header may claim more than the file holds), up to one byte past the claim.
            using var memory = new MemoryStream();
            memory.Write(header);
            var buffer = new byte[81920];
            long limit = Math.Max(claimed, headerLength) + 1;
            for (int n; memory.Length < limit && (n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, limit - memory.Length))) > 0;)
                memory.Write(buffer, 0, n);
            return memory.ToArray();
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(path, StringComparison.Ordinal)) { throw new InvalidDataException($"{path}: corrupt gzip data: {e.Message}", e); }
    }
}
