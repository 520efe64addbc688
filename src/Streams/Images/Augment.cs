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

    /// <summary>The train transform as model input (floats in [-1, 1]).</summary>
    public static float[] Train(SKBitmap image, AugmentSettings settings, Random random) => ToFloats(TrainBytes(image, settings, random));

    /// <summary>The eval transform as model input (floats in [-1, 1]).</summary>
    public static float[] Eval(SKBitmap image, AugmentSettings settings) => ToFloats(EvalBytes(image, settings));

    /// <summary>The train transform as CHW bytes (what the pipeline carries until batching).</summary>
    public static byte[] TrainBytes(SKBitmap image, AugmentSettings settings, Random random)
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

    /// <summary>The eval transform as CHW bytes.</summary>
    public static byte[] EvalBytes(SKBitmap image, AugmentSettings settings)
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

    /// <summary>x / 127.5 − 1 for every byte value: the model's input range [-1, 1].</summary>
    private static readonly float[] Unit = Enumerable.Range(0, 256).Select(v => v / 127.5f - 1f).ToArray();

    /// <summary>CHW bytes to the model's floats in [-1, 1] (x / 127.5 − 1), written into <paramref name="output"/>.</summary>
    public static void ToFloats(ReadOnlySpan<byte> chw, Span<float> output)
    {
        if (output.Length < chw.Length) throw new ArgumentException("output is shorter than the pixels", nameof(output));
        var unit = Unit;
        for (int i = 0; i < chw.Length; i++) output[i] = unit[chw[i]];
    }

    public static float[] ToFloats(byte[] chw)
    {
        var output = GC.AllocateUninitializedArray<float>(chw.Length);
        ToFloats(chw, output);
        return output;
    }

    /// <summary>
    /// The crop as CHW bytes (a quarter of the floats' memory while samples wait in the shuffle buffer).
    /// One channel is ITU-R BT.601 luma, rounded; a grayscale source has R = G = B and keeps its values.
    /// </summary>
    private static unsafe byte[] ToChw(SKBitmap rgba, int x0, int y0, int crop, int channels, bool flip)
    {
        if (rgba.ColorType != SKColorType.Rgba8888 || rgba.BytesPerPixel != 4)
            throw new InvalidOperationException($"expected RGBA8888 pixels, got {rgba.ColorType}");
        var output = GC.AllocateUninitializedArray<byte>(channels * crop * crop);
        int stride = rgba.RowBytes, plane = crop * crop;
        byte* pixels = (byte*)rgba.GetPixels();
        fixed (byte* o = output)
        {
            for (int y = 0; y < crop; y++)
            {
                // Flipped rows read the source right to left.
                byte* p = pixels + (y0 + y) * stride + (flip ? (x0 + crop - 1) * 4 : x0 * 4);
                int step = flip ? -4 : 4;
                byte* r = o + y * crop;
                if (channels == 1)
                {
                    for (int x = 0; x < crop; x++, p += step)
                        r[x] = (byte)Math.Min(255, (int)(0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2] + 0.5f));
                }
                else
                {
                    byte* g = r + plane, b = r + 2 * plane;
                    for (int x = 0; x < crop; x++, p += step)
                    {
                        r[x] = p[0];
                        g[x] = p[1];
                        b[x] = p[2];
                    }
                }
            }
        }
        return output;
    }
}
