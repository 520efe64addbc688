using System.Text.Json;
using BitActors.Actors.Hosting;

namespace BitActors.Cli.Tests;

/// <summary>--device: auto by default (here, with the CPU libtorch, the CPU, said once in the log); other names refused by name.</summary>
public class DeviceOptionTests
{
    [Fact]
    public void AutoIsTheConfiguredDefault()
    {
        var config = BitActorsConfig.Load();
        Assert.Equal("auto", config.GetString("bitactors.device"));
        Assert.Equal(["auto"], config.GetStringList("bitactors.cluster.trainer.devices"));
    }

    [Fact]
    public async Task TheDefaultDeviceIsAutoAndPicksTheCpuWithoutAGpu()
    {
        var (code, stdout, stderr) = await CliProcess.RunAsync(TimeSpan.FromMinutes(2),
            "bench", "train", "--arch", "Tiny", "--batch", "2", "--resolution", "16", "--steps", "1", "--warmup", "0", "--classes", "2", "--json");
        Assert.True(code == 0, stderr);
        Assert.Equal("cpu", JsonDocument.Parse(stdout).RootElement.GetProperty("device").GetString());
        Assert.Single(stderr.Split('\n'), l => l.Contains("device auto: cpu (libtorch has no CUDA device", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("bench", "train", "--device", "gpu")]
    [InlineData("bench", "upstream", "--device", "gpu")]
    [InlineData("demo", "--device", "gpu")]
    [InlineData("run", "--bootstrap-servers", "127.0.0.1:1", "--dataset", "d", "--device", "gpu")]
    public async Task AnUnknownDeviceIsRefusedBeforeAnythingRuns(params string[] args)
    {
        var (code, _, stderr) = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), args);
        Assert.NotEqual(0, code);
        Assert.Contains("--device: device must be auto, cpu, cuda or cuda:N, not 'gpu'", stderr);
    }

    [Fact]
    public async Task CudaWithoutAGpuIsAClearError()
    {
        var (code, _, stderr) = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "bench", "train", "--arch", "Tiny", "--device", "cuda", "--steps", "1");
        Assert.NotEqual(0, code);
        Assert.Contains("device cuda: no CUDA device is available to libtorch", stderr);
    }
}
