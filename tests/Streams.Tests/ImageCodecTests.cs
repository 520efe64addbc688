using System.Buffers.Binary;
using BitActors.Streams.Images;

namespace BitActors.Streams.Tests;

public class ImageCodecTests
{
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

    /// <summary>A valid 4×4 PNG whose IHDR (with a correct CRC) claims <paramref name="width"/>×<paramref name="height"/>.</summary>
    private static byte[] PngClaiming(int width, int height)
    {
        var png = ImageCodec.EncodePng(new byte[16], 4, 4, 1);
        // Signature (8), IHDR length (4), "IHDR" (4), width (4), height (4) ...; CRC over type + data (17 bytes).
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), width);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), height);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), Crc32(png.AsSpan(12, 17)));
        return png;
    }

    [Fact]
    public void AHeaderClaimingFiftyThousandSquaredPixelsIsRefusedBeforeDecoding()
    {
        var before = GC.GetTotalAllocatedBytes();
        var e = Assert.Throws<CorruptImageException>(() => ImageCodec.Decode(PngClaiming(50_000, 50_000)));
        Assert.Contains("50000×50000", e.Message);
        Assert.True(GC.GetTotalAllocatedBytes() - before < 10_000_000, "pixel memory was allocated");
    }

    [Fact]
    public void ImagesUnderTheLimitDecodeAndTheLimitCanBeLowered()
    {
        using var ok = ImageCodec.Decode(PngClaiming(4, 4));
        Assert.Equal(4, ok.Width);
        Assert.Throws<CorruptImageException>(() => ImageCodec.Decode(PngClaiming(4, 4), maxPixels: 15));
    }
}
