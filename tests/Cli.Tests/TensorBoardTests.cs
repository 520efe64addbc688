using BitActors.Actors.Telemetry;
using BitActors.Actors.Tests;
using BitActors.Streams.Tests;

namespace BitActors.Cli.Tests;

public class TensorBoardTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    [Fact]
    [Trait("Category", "EndToEnd")]
    public async Task ADemoWritesTensorBoardScalarsThatAgreeWithItsMetricsFile()
    {
        var source = TestData.WriteIdx(train: 240, test: 50);
        var work = Directory.CreateTempSubdirectory("bitactors-tensorboard");
        try
        {
            var config = Path.Combine(work.FullName, "tiny.conf");
            File.WriteAllText(config, """
                bitactors {
                  upstream { steps = 12, progress-every = 1, batch-size = 16, shuffle-buffer = 64, decode-parallelism = 1 }
                  demo {
                    shots = [1]
                    seeds = [0]
                    finetune { max-steps = 3, batch-size = 8, eval-batch-size = 64, progress-every = 1 }
                  }
                }
                """);
            var demo = await CliProcess.RunAsync(Timeout, "demo", "--config", config, "--source", source.FullName, "--output", work.FullName);
            Assert.True(demo.ExitCode == 0, demo.Stderr);

            var folder = Path.GetDirectoryName(Directory.GetFiles(work.FullName, MetricsLog.File, SearchOption.AllDirectories).Single())!;
            TensorBoardEvents.AssertAgree(folder);
            var tags = TensorBoardEvents.Read(folder).Select(s => s.Tag).ToHashSet();
            foreach (var name in new[] { "loss", "lr", "train_top1", "images_per_second", "data_wait_seconds", "test_top1" })
                Assert.Contains($"upstream/{name}", tags);
            Assert.Contains(tags, t => t != "upstream/test_top1" && t.EndsWith("/test_top1"));
        }
        finally
        {
            source.Delete(true);
            work.Delete(true);
        }
    }
}
