using System.Security.Cryptography;
using System.Text;
using BitActors.Streams.Images;
using BitActors.Streams.Kafka;
using SkiaSharp;

namespace BitActors.Streams.Datasets;

/// <summary>
/// Images whose record would exceed the largest record Kafka takes. By default they are refused, all of
/// them named with their size and the limit, before anything is published (never a silent drop), or left out
/// and listed with <c>--skip-invalid</c>. With <c>resizeMaxSide</c> they are re-encoded smaller instead: the
/// longer side scaled down to that many pixels (aspect kept; JPEG stays JPEG at quality 90, anything else
/// becomes PNG) — once when checked, again when published (nothing is kept). A resized dataset gets another
/// content hash (the source's and the setting), so it is never mistaken for the unresized one.
/// </summary>
public static class OversizedImages
{
    /// <summary>The image as it is published (itself, or resized), or why it cannot be.</summary>
    public static (LabelledImage? Image, string? Reason, bool Resized) Fit(string dataset, string split, LabelledImage image, long maxRecordBytes, int? resizeMaxSide)
    {
        if (resizeMaxSide is < 1) throw new ArgumentOutOfRangeException(nameof(resizeMaxSide), resizeMaxSide, "a positive number of pixels");
        long size = RecordSize(dataset, split, image);
        if (size <= maxRecordBytes) return (image, null, false);
        if (resizeMaxSide is not { } side) return (null, $"{size:N0} bytes", false);
        LabelledImage smaller;
        try { smaller = Shrink(image, side); }
        catch (CorruptImageException e) { return (null, $"{size:N0} bytes; cannot be resized: {e.Message}", false); }
        long after = RecordSize(dataset, split, smaller);
        return after > maxRecordBytes ? (null, $"{size:N0} bytes; still {after:N0} after resizing to {side} px", false) : (smaller, null, true);
    }

    /// <summary>The refusal naming the images over the limit (each "origin (reason)").</summary>
    public static OversizedImageException Refusal(string dataset, long maxRecordBytes, IReadOnlyCollection<string> named, int count, int? resizeMaxSide) =>
        new($"{count} image(s) of '{dataset}' exceed the largest Kafka record, {maxRecordBytes:N0} bytes ({MessageLimits.Explained}); " +
            "nothing was published: " + string.Join(", ", named.Take(DatasetChecks.Named)) + (count > DatasetChecks.Named ? ", …" : "") +
            (resizeMaxSide is null ? ". Publish with --resize-oversized MAXSIDE to re-encode them smaller, or --skip-invalid to leave them out." : ". Use a smaller --resize-oversized."));

    /// <summary>The content hash of a dataset some of whose images were resized.</summary>
    public static string ResizedHash(string contentHash, int resizeMaxSide) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{contentHash}\nresize-oversized={resizeMaxSide}")));

    private static long RecordSize(string dataset, string split, LabelledImage image) =>
        MessageLimits.SizeOf(DatasetPublisher.ToMessage(dataset, split, image));

    private static LabelledImage Shrink(LabelledImage image, int maxSide)
    {
        using var bitmap = ImageCodec.Decode(image.Encoded);
        double scale = Math.Min(1.0, maxSide / (double)Math.Max(bitmap.Width, bitmap.Height));
        int width = Math.Max(1, (int)Math.Round(bitmap.Width * scale)), height = Math.Max(1, (int)Math.Round(bitmap.Height * scale));
        using var scaled = scale < 1.0
            ? bitmap.Resize(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear))
            : bitmap.Copy();
        bool jpeg = image.ContentType == "image/jpeg";
        using var data = scaled.Encode(jpeg ? SKEncodedImageFormat.Jpeg : SKEncodedImageFormat.Png, jpeg ? 90 : 100)
            ?? throw new CorruptImageException("re-encoding failed");
        return image with { Encoded = data.ToArray(), ContentType = jpeg ? "image/jpeg" : "image/png" };
    }
}

public sealed class OversizedImageException(string message) : Exception(message);
