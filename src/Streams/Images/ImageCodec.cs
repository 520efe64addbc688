using SkiaSharp;

namespace BitActors.Streams.Images;

/// <summary>PNG/JPEG encode and decode with SkiaSharp; decoded pixels are RGBA, unpremultiplied.</summary>
public static class ImageCodec
{
    /// <summary>Encodes 8-bit grayscale (1 channel) or RGB (3 channels) pixels, row-major, as PNG.</summary>
    public static unsafe byte[] EncodePng(ReadOnlySpan<byte> pixels, int width, int height, int channels)
    {
        if (pixels.Length != width * height * channels)
            throw new ArgumentException($"expected {width}x{height}x{channels} bytes, got {pixels.Length}", nameof(pixels));
        byte[] buffer;
        SKImageInfo info;
        if (channels == 1)
        {
            info = new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque);
            buffer = pixels.ToArray();
        }
        else if (channels == 3)
        {
            info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
            buffer = new byte[width * height * 4];
            for (int i = 0, j = 0; i < pixels.Length; i += 3, j += 4)
            {
                buffer[j] = pixels[i]; buffer[j + 1] = pixels[i + 1]; buffer[j + 2] = pixels[i + 2]; buffer[j + 3] = 255;
            }
        }
        else throw new ArgumentOutOfRangeException(nameof(channels), channels, "1 or 3 channels");
        fixed (byte* p = buffer)
        {
            using var pixmap = new SKPixmap(info, (IntPtr)p, info.RowBytes);
            using var data = pixmap.Encode(SKEncodedImageFormat.Png, 100)
                ?? throw new InvalidOperationException("PNG encoding failed");
            return data.ToArray();
        }
    }

    /// <summary>Images claiming more pixels are refused before any pixel memory is allocated (a decompression bomb guard): 64 M, e.g. 8000×8000.</summary>
    public const long MaxPixels = 64L << 20;

    /// <summary>
    /// Decodes PNG/JPEG/BMP/WebP bytes; corrupt or unknown data, and headers claiming more than
    /// <paramref name="maxPixels"/> pixels, raise <see cref="CorruptImageException"/>.
    /// </summary>
    public static SKBitmap Decode(byte[] encoded, long maxPixels = MaxPixels)
    {
        if (encoded is null || encoded.Length == 0) throw new CorruptImageException("empty value: no image bytes");
        using var stream = new SKMemoryStream(encoded);
        using var codec = SKCodec.Create(stream) ?? throw new CorruptImageException("not a decodable image (unknown format or corrupt header)");
        long pixels = (long)codec.Info.Width * codec.Info.Height;
        if (codec.Info.Width <= 0 || codec.Info.Height <= 0 || pixels > maxPixels)
            throw new CorruptImageException($"image header claims {codec.Info.Width}×{codec.Info.Height} pixels; the limit is {maxPixels:N0} (decompression bomb?)");
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result != SKCodecResult.Success)
        {
            bitmap.Dispose();
            throw new CorruptImageException($"image data is corrupt or truncated ({result})");
        }
        return bitmap;
    }
}

public sealed class CorruptImageException(string message) : Exception(message);
