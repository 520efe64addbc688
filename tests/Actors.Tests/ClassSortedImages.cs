using MathNet.Numerics.Distributions;
using BitActors.Streams.Tests;
using SkiaSharp;

namespace BitActors.Actors.Tests;

/// <summary>
/// A 10-class set of 16×16 grayscale images (class c: a bright bar of one of two widths at one of five heights, under noise)
/// written twice with the same pixels: as an ImageFolder sorted by class (train/&lt;class&gt;/*.png, test/…), the way
/// users' folders come, and as IDX files in mixed class order (as Fashion-MNIST's). Plus the chi-square test of
/// whether a batch's class counts look uniform.
/// </summary>
internal static class ClassSortedImages
{
    public const int Size = 16;
    public const int Classes = 10;

    /// <summary>
    /// The pixels of image <paramref name="i"/> of a split (seeded by split and index: the same in both formats). Class c is a
    /// bright bar centred left to right (so a horizontal flip keeps the class) at one of five heights (c mod 5), narrow or
    /// wide (c / 5), under noise: easy to learn from mixed batches, impossible from batches of one class.
    /// </summary>
    public static byte[] Pixels(int label, int i, int splitSeed)
    {
        var random = new Random(splitSeed * 1_000_003 + i);
        var pixels = new byte[Size * Size];
        int top = label % 5 * 3, half = label / 5 == 0 ? 1 : 5;
        for (int y = 0; y < Size; y++)
            for (int x = 0; x < Size; x++)
            {
                bool bar = y >= top && y < top + 3 && x >= Size / 2 - half && x < Size / 2 + half;
                pixels[y * Size + x] = (byte)Math.Clamp((bar ? 170 : 60) + (int)Normal.Sample(random, 0, 30), 0, 255);
            }
        return pixels;
    }

    /// <summary>Label of image i of a split: every class equally often, interleaved (the IDX order).</summary>
    public static int Label(int i) => i % Classes;

    public static DirectoryInfo WriteImageFolder(int trainPerClass, int testPerClass)
    {
        var root = Directory.CreateTempSubdirectory("bitactors-sorted");
        foreach (var (split, perClass, seed) in new[] { ("train", trainPerClass, 1), ("test", testPerClass, 2) })
            for (int i = 0; i < perClass * Classes; i++)
            {
                var folder = Directory.CreateDirectory(Path.Combine(root.FullName, split, $"class{Label(i)}"));
                using var bitmap = new SKBitmap(new SKImageInfo(Size, Size, SKColorType.Gray8, SKAlphaType.Opaque));
                System.Runtime.InteropServices.Marshal.Copy(Pixels(Label(i), i, seed), 0, bitmap.GetPixels(), Size * Size);
                using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
                File.WriteAllBytes(Path.Combine(folder.FullName, $"{i:D6}.png"), png.ToArray());
            }
        return root;
    }

    public static DirectoryInfo WriteIdx(int trainPerClass, int testPerClass)
    {
        var dir = Directory.CreateTempSubdirectory("bitactors-mixed");
        TestData.WriteIdx(dir.FullName, "train", trainPerClass * Classes, Size, Label, i => Pixels(Label(i), i, 1));
        TestData.WriteIdx(dir.FullName, "t10k", testPerClass * Classes, Size, Label, i => Pixels(Label(i), i, 2));
        return dir;
    }

    /// <summary>P-value of Pearson's chi-square test of a batch's class counts against a uniform draw from <paramref name="classes"/> classes.</summary>
    public static double UniformityPValue(IEnumerable<int> labels, int classes)
    {
        var counts = new int[classes];
        int n = 0;
        foreach (var label in labels) { counts[label]++; n++; }
        double expected = n / (double)classes;
        double statistic = counts.Sum(c => (c - expected) * (c - expected) / expected);
        return 1 - ChiSquared.CDF(classes - 1, statistic);
    }
}
