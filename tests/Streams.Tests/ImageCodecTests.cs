using System.Buffers.Binary;
using BitActors.Streams.Images;

namespace BitActors.Streams.Tests;

public class ImageCodecTests
{
    [Fact]
    public void AHeaderClaimingFiftyThousandSquaredPixelsIsRefusedBeforeDecoding()
    {
        var before = GC.GetTotalAllocatedBytes();
        var e = Assert.Throws<CorruptImageException>(() => ImageCodec.Decode(BadImages.PngClaiming(50_000, 50_000)));
        Assert.Contains("50000×50000", e.Message);
        Assert.True(GC.GetTotalAllocatedBytes() - before < 10_000_000, "pixel memory was allocated");
    }

    [Fact]
    public void ImagesUnderTheLimitDecodeAndTheLimitCanBeLowered()
    {
        using var ok = ImageCodec.Decode(BadImages.PngClaiming(4, 4));
        Assert.Equal(4, ok.Width);
        Assert.Throws<CorruptImageException>(() => ImageCodec.Decode(BadImages.PngClaiming(4, 4), maxPixels: 15));
    }
}
