using BitActors.Model.Training;
using static TorchSharp.torch;

namespace BitActors.Model.Tests;

/// <summary>Device names: auto picks CUDA only where libtorch has it (never with the CPU libtorch the tests use).</summary>
public class DevicesTests
{
    [Fact]
    public void AutoIsTheCpuWithTheCpuLibtorchAndIsAnnouncedOnce()
    {
        var told = new List<string>();
        Assert.Equal("cpu", Devices.Resolve("auto", told.Add));
        Assert.Equal("cpu", Devices.Resolve("auto", told.Add));
        Assert.Equal("device auto: cpu (libtorch has no CUDA device: no GPU, or the CPU build of libtorch)", Assert.Single(told));
        Assert.Equal(0, Devices.CudaDevices);
        // Probing CUDA left the CPU backend working.
        using var x = ones(2, 2, device: Devices.ToTorch("auto"));
        Assert.Equal(4f, x.sum().item<float>());
    }

    [Fact]
    public void CpuNeedsNoProbe() => Assert.Equal("cpu", Devices.Resolve("cpu"));

    [Theory]
    [InlineData("cuda")]
    [InlineData("cuda:0")]
    [InlineData("cuda:3")]
    public void CudaWithoutAGpuIsACleanError(string device)
    {
        var e = Assert.Throws<InvalidOperationException>(() => Devices.Resolve(device));
        Assert.StartsWith($"device {device}: no CUDA device is available to libtorch", e.Message);
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("CPU")]
    [InlineData("cuda:")]
    [InlineData("cuda:x")]
    [InlineData("cuda:-1")]
    [InlineData("")]
    [InlineData(" auto")]
    public void OtherNamesAreRefusedWithTheAcceptedOnes(string device)
    {
        Assert.Equal($"device must be auto, cpu, cuda or cuda:N, not '{device}'", Devices.Problem(device));
        Assert.Equal($"device must be auto, cpu, cuda or cuda:N, not '{device}'", Assert.Throws<ArgumentException>(() => Devices.Resolve(device)).Message);
    }

    [Theory]
    [InlineData("auto")]
    [InlineData("cpu")]
    [InlineData("cuda")]
    [InlineData("cuda:12")]
    public void DeviceNamesPass(string device) => Assert.Null(Devices.Problem(device));
}
