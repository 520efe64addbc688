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
    // Bilinear; mipmaps only help when shrinking (they anti-alias) and cost 3x the resize when enlarging.
    private static readonly SKSamplingOptions Shrinking = new(SKFilterMode.Linear, SKMipmapMode.Linear);
    private static readonly SKSamplingOptions Enlarging = new(SKFilterMode.Linear, SKMipmapMode.None);

    public static float[] Train(SKBitmap image, AugmentSettings settings, Random random)
    {
        var resized = Resize(image, settings.Precrop);
        try
        {
            int range = settings.Precrop - settings.Crop;
            int x0 = random.Next(range + 1), y0 = random.Next(range + 1);
            bool flip = settings.Flip && random.Next(2) == 1;
            return ToChw(resized, x0, y0, settings.Crop, settings.Channels, flip);
        }
        finally { if (!ReferenceEquals(resized, image)) resized.Dispose(); }
    }

    public static float[] Eval(SKBitmap image, AugmentSettings settings)
    {
        var resized = Resize(image, settings.Crop);
        try { return ToChw(resized, 0, 0, settings.Crop, settings.Channels, flip: false); }
        finally { if (!ReferenceEquals(resized, image)) resized.Dispose(); }
    }

    /// <summary>The image at size×size; the image itself (not a copy) when it already is. Dispose only what differs from the input.</summary>
    private static SKBitmap Resize(SKBitmap image, int size)
    {
        if (image.Width == size && image.Height == size) return image;
        var sampling = size < image.Width || size < image.Height ? Shrinking : Enlarging;
        return image.Resize(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Unpremul), sampling)
            ?? throw new InvalidOperationException($"resize to {size}x{size} failed");
    }

    private static unsafe float[] ToChw(SKBitmap rgba, int x0, int y0, int crop, int channels, bool flip)
    {
        if (rgba.ColorType != SKColorType.Rgba8888 || rgba.BytesPerPixel != 4)
            throw new InvalidOperationException($"expected RGBA8888 pixels, got {rgba.ColorType}");
        var output = GC.AllocateUninitializedArray<float>(channels * crop * crop);
        int stride = rgba.RowBytes, plane = crop * crop;
        const float half = 127.5f; // x / 127.5 − 1, exactly as before: 0 → −1, 255 → 1
        byte* pixels = (byte*)rgba.GetPixels();
        fixed (float* o = output)
        {
            for (int y = 0; y < crop; y++)
            {
                // Flipped rows read the source right to left.
                byte* p = pixels + (y0 + y) * stride + (flip ? (x0 + crop - 1) * 4 : x0 * 4);
                int step = flip ? -4 : 4;
                float* r = o + y * crop;
                if (channels == 1)
                {
                    // ITU-R BT.601 luma; a grayscale source has R = G = B, so this returns it unchanged.
                    for (int x = 0; x < crop; x++, p += step)
                        r[x] = (0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]) / half - 1f;
                }
                else
                {
                    float* g = r + plane, b = r + 2 * plane;
                    for (int x = 0; x < crop; x++, p += step)
                    {
                        r[x] = p[0] / half - 1f;
                        g[x] = p[1] / half - 1f;
                        b[x] = p[2] / half - 1f;
                    }
                }
            }
        }
        return output;
    }
}
