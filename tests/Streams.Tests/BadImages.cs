using System.Buffers.Binary;
using BitActors.Streams.Images;
using SkiaSharp;

namespace BitActors.Streams.Tests;

/// <summary>The bad-input corpus: small images and the broken or hostile bytes made from them.</summary>
internal static class BadImages
{
    public static byte[] Encoded(SKEncodedImageFormat format, int size = 24, int seed = 0)
    {
        var random = new Random(seed);
        using var bitmap = new SKBitmap(size, size);
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
                bitmap.SetPixel(x, y, new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
        using var data = bitmap.Encode(format, 90);
        return data.ToArray();
    }

    public static byte[] Png(int size = 24, int seed = 0) => Encoded(SKEncodedImageFormat.Png, size, seed);

    public static byte[] Jpeg(int size = 24, int seed = 0) => Encoded(SKEncodedImageFormat.Jpeg, size, seed);

    public static byte[] TruncatedPng() => Png(64)[..300];

    public static byte[] TruncatedJpeg() { var jpeg = Jpeg(64); return jpeg[..(jpeg.Length / 2)]; }

    public static byte[] RandomBytes() { var bytes = new byte[500]; new Random(7).NextBytes(bytes); return bytes; }

    /// <summary>A valid 4×4 PNG whose IHDR (with a correct CRC) claims <paramref name="width"/>×<paramref name="height"/>.</summary>
    public static byte[] PngClaiming(int width, int height)
    {
        var png = ImageCodec.EncodePng(new byte[16], 4, 4, 1);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), width);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), height);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), Crc32(png.AsSpan(12, 17)));
        return png;
    }

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xffffffff;
        foreach (var b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
        }
        return ~crc;
    }
}
