using System.Diagnostics;
using BitActors.Streams.Tests;
using SkiaSharp;

namespace BitActors.Cli.Tests;

/// <summary>
/// A run that could never train ends in seconds, exit code 1, with one line naming what is wrong, before step 0:
/// classes outside the dataset (a class given twice is used once, with a warning), a dataset without the test split
/// a run is evaluated on (downstream, and upstream where it would only be found after every step), an upstream class
/// listed twice in the configuration, and a resume from a file that holds no training state.
/// </summary>
public sealed class RunRefusalTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan Seconds = TimeSpan.FromSeconds(30);

    [Fact]
    [Trait("Category", "EndToEnd")]
    public async Task ARunThatCouldNeverTrainIsRefusedBeforeStepZeroNamingTheClassSplitOrCheckpoint()
    {
        var source = TestData.WriteIdx(train: 60, test: 10, size: 16);
        var work = Directory.CreateTempSubdirectory("bitactors-refusal");
        try
        {
            using var broker = new CliProcess("kafka", "up");
            var bootstrap = (await broker.WaitForLineAsync("bootstrap=", Timeout))["bootstrap=".Length..];
            var published = await CliProcess.RunAsync(Timeout, "publish", "--dataset", "refusals", "--format", "idx", "--source", source.FullName, "--bootstrap-servers", bootstrap);
            Assert.True(published.ExitCode == 0, published.Stderr);
            var folder = TrainOnlyImageFolder(work.FullName);
            published = await CliProcess.RunAsync(Timeout, "publish", "--dataset", "notest", "--format", "imagefolder", "--source", folder, "--bootstrap-servers", bootstrap);
            Assert.True(published.ExitCode == 0, published.Stderr);

            async Task<string> Refused(params string[] args)
            {
                var clock = Stopwatch.StartNew();
                var (code, stdout, stderr) = await CliProcess.RunAsync(Timeout, ["run", "--bootstrap-servers", bootstrap, "--output", work.FullName, .. args]);
                var output = stdout + stderr;
                Assert.True(code == 1, $"exit {code}: {output}");
                Assert.True(clock.Elapsed < Seconds, $"{clock.Elapsed.TotalSeconds:F0} s: {output}");
                Assert.DoesNotContain("step 1/", output);
                return output;
            }
            string Config(string name, string upstream)
            {
                var path = Path.Combine(work.FullName, name);
                File.WriteAllText(path, $$"""
                    bitactors.upstream { {{upstream}}, arch = Tiny, channels = 1, batch-size = 8, steps = 4, precrop = 16, crop = 16, shuffle-buffer = 16, decode-parallelism = 1 }
                    """);
                return path;
            }

            var classes = await Refused("--dataset", "refusals", "--classes", "1,1,99");
            Assert.Contains("--classes: 1 given more than once; each is used once (1,99)", classes);
            Assert.Contains("--classes: class 99 not in dataset 'refusals' (its classes are 0–9)", classes);

            var downstream = await Refused("--dataset", "notest", "--config", Config("up.conf", "dataset = refusals"));
            Assert.Contains("--dataset notest: dataset 'notest' has no 'test' split (it has: train)", downstream);

            var upstream = await Refused("--dataset", "refusals", "--config", Config("notest.conf", "dataset = notest"));
            Assert.Contains("bitactors.upstream: dataset 'notest' has no 'test' split (it has: train)", upstream);

            var twice = await Refused("--dataset", "refusals", "--config", Config("twice.conf", "dataset = refusals, classes = [1, 2, 1]"));
            Assert.Contains("bitactors.upstream.classes lists class 1 2 times: [1, 2, 1]; list each class once", twice);

            var final = Path.Combine(work.FullName, "final.safetensors");
            File.WriteAllBytes(final, [1, 2, 3]);
            var resume = await Refused("--dataset", "refusals", "--config", Config("resume.conf", "dataset = refusals"), "--resume", final);
            Assert.Contains($"cannot resume from {final}: training state not found", resume);
        }
        finally
        {
            source.Delete(true);
            work.Delete(true);
        }
    }

    /// <summary>An ImageFolder tree of one split (ROOT/class/image.png): published as 'train' only.</summary>
    private static string TrainOnlyImageFolder(string parent)
    {
        var root = Path.Combine(parent, "train-only");
        for (int c = 0; c < 3; c++)
        {
            var dir = Directory.CreateDirectory(Path.Combine(root, $"c{c}")).FullName;
            for (int i = 0; i < 4; i++)
            {
                using var bitmap = new SKBitmap(16, 16);
                bitmap.Erase(new SKColor((byte)(c * 80), (byte)(i * 40), 0));
                using var png = bitmap.Encode(SKEncodedImageFormat.Png, 90);
                File.WriteAllBytes(Path.Combine(dir, $"{i}.png"), png.ToArray());
            }
        }
        return root;
    }
}
