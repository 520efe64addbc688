using BitActors.Model.Architecture;
using BitActors.Model.Recipe;

namespace BitActors.Model.Tests;

public class MicroBatchTests
{
    [Fact]
    public void ActivationsGrowWithResolutionAndWidth()
    {
        var r50 = KnownModels.Get("R50x1");
        Assert.True(MicroBatch.BytesPerImage(r50, 224) > 3 * MicroBatch.BytesPerImage(r50, 128));
        Assert.True(MicroBatch.BytesPerImage(KnownModels.Get("R50x3"), 224) > 2 * MicroBatch.BytesPerImage(r50, 224));
        Assert.True(MicroBatch.BytesPerImage(KnownModels.Get("R101x1"), 224) > MicroBatch.BytesPerImage(r50, 224));
        Assert.InRange(MicroBatch.BytesPerImage(r50, 224) / (1 << 20), 100, 200); // MiB: timm's R50 takes about 90 at 224 px
    }

    [Fact]
    public void TheSplitIsTheLargestDivisorThatFitsAndTheWholeBatchWhenItFits()
    {
        var r50 = KnownModels.Get("R50x1");
        long perImage = MicroBatch.BytesPerImage(r50, 128);
        Assert.Equal(512, MicroBatch.For(r50, 512, 128, perImage * 2 * 600)); // fits: no split
        Assert.Equal(256, MicroBatch.For(r50, 512, 128, perImage * 2 * 300));
        Assert.Equal(128, MicroBatch.For(r50, 512, 128, perImage * 2 * 200));
        Assert.Equal(1, MicroBatch.For(r50, 512, 128, 1));
        Assert.Equal(50, MicroBatch.For(r50, 500, 128, perImage * 2 * 60)); // a divisor of 500
        Assert.Equal(64, MicroBatch.For(KnownModels.Get("Tiny", 1), 64, 32, 8L << 30)); // the demo: whole batches
        Assert.NotNull(MicroBatch.DeviceMemory("cpu"));
    }
}
