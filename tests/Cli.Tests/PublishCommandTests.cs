using BitActors.Streams.Tests;
using SkiaSharp;

namespace BitActors.Cli.Tests;

public class PublishCommandTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task PublishEndsWithItsThroughputInImagesAndMegabytesPerSecond()
    {
        var source = TestData.WriteIdx(train: 30, test: 10);
        try
        {
            var (code, stdout, stderr) = await CliProcess.RunAsync(Timeout, "publish", "--dataset", "rates", "--format", "idx", "--source", source.FullName);
            Assert.True(code == 0, stderr);
            Assert.Matches(@"throughput: 40 images, [0-9.]+ MB in [0-9.]+ s: [0-9]+ images/s, [0-9.]+ MB/s", stdout);
        }
        finally { source.Delete(true); }
    }

    [Fact]
    public async Task LabelsAreRefusedForFormatsThatCarryTheirOwn()
    {
        var source = TestData.WriteIdx(train: 10, test: 10);
        try
        {
            var (code, stdout, stderr) = await CliProcess.RunAsync(Timeout, "publish", "--dataset", "x", "--format", "idx", "--source", source.FullName, "--labels", "labels.csv");
            Assert.NotEqual(0, code);
            Assert.Contains("--labels works with --format imagefolder only", stdout + stderr);
        }
        finally { source.Delete(true); }
    }

    [Fact]
    [Trait("Category", "EndToEnd")]
    public async Task AnOversizedImageIsRefusedByNameUnlessResizeOversizedIsGiven()
    {
        var root = Directory.CreateTempSubdirectory("bitactors-cli-oversized");
        try
        {
            // Seeded noise: a 700×700 PNG is about 1.5 MB, over the producer's 1,000,000-byte records.
            foreach (var (relative, size) in new[] { ("cat/small.png", 32), ("dog/huge.png", 700) })
            {
                var pixels = new byte[size * size * 4];
                new Random(size).NextBytes(pixels);
                for (int i = 3; i < pixels.Length; i += 4) pixels[i] = 255;
                using var bitmap = new SKBitmap(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque);
                System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
                Directory.CreateDirectory(Path.Combine(root.FullName, Path.GetDirectoryName(relative)!));
                using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
                File.WriteAllBytes(Path.Combine(root.FullName, relative), data.ToArray());
            }
            var refused = await CliProcess.RunAsync(Timeout, "publish", "--dataset", "big", "--format", "imagefolder", "--source", root.FullName);
            Assert.NotEqual(0, refused.ExitCode);
            Assert.Contains("dog/huge.png", refused.Stderr);
            Assert.Contains("1,000,000 bytes", refused.Stderr);

            var resized = await CliProcess.RunAsync(Timeout, "publish", "--dataset", "big", "--format", "imagefolder", "--source", root.FullName, "--resize-oversized", "256");
            Assert.True(resized.ExitCode == 0, resized.Stderr);
            Assert.Contains("throughput: 2 images", resized.Stdout);
        }
        finally { root.Delete(true); }
    }

    [Fact]
    [Trait("Category", "EndToEnd")]
    public async Task SkipInvalidPublishesTheGoodImagesAndListsTheBadOnesInAFileAndOnStderr()
    {
        var root = Directory.CreateTempSubdirectory("bitactors-cli-skip");
        try
        {
            foreach (var (relative, seed) in new[] { ("cat/a.png", 1), ("dog/b.png", 2) })
            {
                using var bitmap = new SKBitmap(8, 8);
                bitmap.Erase(new SKColor((byte)(seed * 60), 10, 10));
                Directory.CreateDirectory(Path.Combine(root.FullName, Path.GetDirectoryName(relative)!));
                using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
                File.WriteAllBytes(Path.Combine(root.FullName, relative), data.ToArray());
            }
            var fifo = Path.Combine(root.FullName, "dog/pipe.png");
            Assert.Equal(0, Mono.Unix.Native.Syscall.mkfifo(fifo, Mono.Unix.Native.FilePermissions.DEFFILEMODE));

            var refused = await CliProcess.RunAsync(Timeout, "publish", "--dataset", "pipes", "--format", "imagefolder", "--source", root.FullName);
            Assert.NotEqual(0, refused.ExitCode);
            Assert.Contains($"{fifo}: a FIFO (named pipe)", refused.Stderr);

            var list = Path.Combine(root.FullName, "skipped.txt");
            var (code, stdout, stderr) = await CliProcess.RunAsync(Timeout, "publish", "--dataset", "pipes", "--format", "imagefolder", "--source", root.FullName,
                "--skip-invalid", "--skipped-file", list, "--seed", "5", "--partitions", "2");
            Assert.True(code == 0, stderr);
            Assert.Contains($"skipped {fifo}: a FIFO (named pipe)", stderr);
            Assert.Contains("1 image(s) skipped", stdout + stderr);
            Assert.Equal([$"{fifo}: a FIFO (named pipe), not a regular file"], File.ReadAllLines(list));
            Assert.Contains("throughput: 2 images", stdout);
        }
        finally { root.Delete(true); }
    }

    [Theory]
    [InlineData("--partitions", "0", "--partitions must be at least 1")]
    [InlineData("--skipped-file", "x.txt", "--skipped-file works with --skip-invalid only")]
    public async Task BadPublishOptionsAreRefusedByName(string option, string value, string expected)
    {
        var (code, stdout, stderr) = await CliProcess.RunAsync(Timeout, "publish", "--dataset", "x", "--source", "/nonexistent", option, value);
        Assert.NotEqual(0, code);
        Assert.Contains(expected, stdout + stderr);
    }
}
