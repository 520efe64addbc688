using System.Security.Cryptography;
using System.Text;
using BitActors.Streams.Images;
using BitActors.Streams.Kafka;
using SkiaSharp;

namespace BitActors.Streams.Datasets;

/// <summary>
/// Images whose record would exceed the largest record Kafka takes. By default they are refused, all of
/// them named with their size and the limit, before anything is published (never a silent drop). With
/// <c>resizeMaxSide</c> they are re-encoded smaller instead: the longer side scaled down to that many pixels
/// (aspect kept; JPEG stays JPEG at quality 90, anything else becomes PNG). A resized dataset gets another
/// content hash (the source's and the setting), so it is never mistaken for the unresized one.
/// </summary>
public static class OversizedImages
{
    public static DatasetSource Fit(DatasetSource dataset, long maxRecordBytes, int? resizeMaxSide = null)
    {
        if (resizeMaxSide is < 1) throw new ArgumentOutOfRangeException(nameof(resizeMaxSide), resizeMaxSide, "a positive number of pixels");
        var refused = new List<string>();
        int resized = 0;
        var splits = dataset.Splits.Select(split => new DatasetSplit(split.Name, split.Images.Select(image =>
        {
            long size = RecordSize(dataset.Name, split.Name, image);
            if (size <= maxRecordBytes) return image;
            if (resizeMaxSide is null)
            {
                refused.Add($"{image.Describe(split.Name)} ({size:N0} bytes)");
                return image;
            }
            var smaller = Shrink(image, resizeMaxSide.Value, split.Name);
            long after = RecordSize(dataset.Name, split.Name, smaller);
            if (after > maxRecordBytes)
                refused.Add($"{image.Describe(split.Name)} ({size:N0} bytes; still {after:N0} after resizing to {resizeMaxSide} px)");
            resized++;
            return smaller;
        }).ToArray())).ToArray();

        if (refused.Count > 0)
            throw new OversizedImageException($"{refused.Count} image(s) of '{dataset.Name}' exceed the largest Kafka record, {maxRecordBytes:N0} bytes " +
                "(the producer's message.max.bytes, or the broker's if lower); nothing was published: " + string.Join(", ", refused.Take(10)) +
                (refused.Count > 10 ? ", …" : "") +
                (resizeMaxSide is null ? ". Publish with --resize-oversized MAXSIDE to re-encode them smaller." : ". Use a smaller --resize-oversized."));
        if (resized == 0) return dataset;
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{dataset.ContentHash}\nresize-oversized={resizeMaxSide}"));
        return dataset with { Splits = splits, ContentHash = Convert.ToHexStringLower(hash) };
    }

    private static long RecordSize(string dataset, string split, LabelledImage image) =>
        MessageLimits.SizeOf(DatasetPublisher.ToMessage(dataset, split, image));

    private static LabelledImage Shrink(LabelledImage image, int maxSide, string split)
    {
        SKBitmap bitmap;
        try { bitmap = ImageCodec.Decode(image.Encoded); }
        catch (CorruptImageException e) { throw new OversizedImageException($"{image.Describe(split)} is too large and cannot be resized: {e.Message}"); }
        using (bitmap)
        {
            double scale = Math.Min(1.0, maxSide / (double)Math.Max(bitmap.Width, bitmap.Height));
            int width = Math.Max(1, (int)Math.Round(bitmap.Width * scale)), height = Math.Max(1, (int)Math.Round(bitmap.Height * scale));
            using var scaled = scale < 1.0
                ? bitmap.Resize(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear))
                : bitmap.Copy();
            bool jpeg = image.ContentType == "image/jpeg";
            using var data = scaled.Encode(jpeg ? SKEncodedImageFormat.Jpeg : SKEncodedImageFormat.Png, jpeg ? 90 : 100)
                ?? throw new OversizedImageException($"{image.Describe(split)}: re-encoding failed");
            return image with { Encoded = data.ToArray(), ContentType = jpeg ? "image/jpeg" : "image/png" };
        }
    }
}

public sealed class OversizedImageException(string message) : Exception(message);
