using SkiaSharp;

namespace BitActors.Streams.Images;

/// <summary>Sizes of the BiT input pipeline: resize to <c>Precrop</c>², then crop <c>Crop</c>².</summary>
public sealed record AugmentSettings(int Precrop, int Crop, int Channels, bool Flip = true)
{
    public int PixelsPerSample => Channels * Crop * Crop;
}

/// <summary>
/// BiT's input pipeline (bit_pytorch/train.py): train = resize to a square precrop, random crop,
/// random horizontal flip; eval = resize straight to the crop size. Output is CHW floats in [-1, 1]
/// (x/127.5 − 1, as the official checkpoints expect).
/// </summary>
public static class Augment
{
    private static readonly SKSamplingOptions Sampling = new(SKFilterMode.Linear, SKMipmapMode.Linear);

    public static float[] Train(SKBitmap image, AugmentSettings settings, Random random)
    {
        using var resized = Resize(image, settings.Precrop);
        int range = settings.Precrop - settings.Crop;
        int x0 = random.Next(range + 1), y0 = random.Next(range + 1);
        bool flip = settings.Flip && random.Next(2) == 1;
        return ToChw(resized, x0, y0, settings.Crop, settings.Channels, flip);
    }

    public static float[] Eval(SKBitmap image, AugmentSettings settings)
    {
        using var resized = Resize(image, settings.Crop);
        return ToChw(resized, 0, 0, settings.Crop, settings.Channels, flip: false);
    }

    private static SKBitmap Resize(SKBitmap image, int size)
    {
        if (image.Width == size && image.Height == size) return image.Copy();
        return image.Resize(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Unpremul), Sampling)
            ?? throw new InvalidOperationException($"resize to {size}x{size} failed");
    }

    private static float[] ToChw(SKBitmap rgba, int x0, int y0, int crop, int channels, bool flip)
    {
        var pixels = rgba.GetPixelSpan();
        int stride = rgba.RowBytes;
        var output = new float[channels * crop * crop];
        int plane = crop * crop;
        for (int y = 0; y < crop; y++)
        {
            for (int x = 0; x < crop; x++)
            {
                int sx = flip ? x0 + crop - 1 - x : x0 + x;
                int at = (y0 + y) * stride + sx * 4;
                int o = y * crop + x;
                if (channels == 1)
                {
                    // ITU-R BT.601 luma; a grayscale source has R = G = B, so this returns it unchanged.
                    float luma = 0.299f * pixels[at] + 0.587f * pixels[at + 1] + 0.114f * pixels[at + 2];
                    output[o] = luma / 127.5f - 1f;
                }
                else
                {
                    output[o] = pixels[at] / 127.5f - 1f;
                    output[plane + o] = pixels[at + 1] / 127.5f - 1f;
                    output[2 * plane + o] = pixels[at + 2] / 127.5f - 1f;
                }
            }
        }
        return output;
    }
}
