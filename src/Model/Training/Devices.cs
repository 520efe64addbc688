using System.Text.RegularExpressions;
using TorchSharp;

namespace BitActors.Model.Training;

/// <summary>
/// The one place a device name becomes a device: <c>auto</c> (CUDA when libtorch can use a GPU, else the CPU),
/// <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>. CUDA is probed once per process (it loads libtorch's CUDA backend,
/// which must happen before any tensor is made).
/// </summary>
public static partial class Devices
{
    public const string Auto = "auto";
    public const string Accepted = "auto, cpu, cuda or cuda:N";

    private static readonly Lazy<int> CudaCount = new(ProbeCuda);
    private static int _autoAnnounced;

    [GeneratedRegex(@"^cuda(:\d+)?$")]
    private static partial Regex CudaName();

    /// <summary>What is wrong with <paramref name="device"/> as a device name, or null when it is one (no libtorch needed).</summary>
    public static string? Problem(string? device) =>
        device is Auto or "cpu" || (device is not null && CudaName().IsMatch(device)) ? null
        : $"device must be {Accepted}, not '{device}'";

    /// <summary>CUDA devices libtorch can use in this process (0 with the CPU libtorch, or without a GPU).</summary>
    public static int CudaDevices => CudaCount.Value;

    /// <summary>
    /// <paramref name="device"/> as a concrete device name: <c>auto</c> becomes <c>cuda</c> or <c>cpu</c> (told to
    /// <paramref name="announce"/> the first time in this process); <c>cuda</c>/<c>cuda:N</c> must be usable.
    /// </summary>
    /// <exception cref="ArgumentException">Not a device name.</exception>
    /// <exception cref="InvalidOperationException">CUDA asked for where libtorch has none (or not that index).</exception>
    public static string Resolve(string device, Action<string>? announce = null)
    {
        if (Problem(device) is { } problem) throw new ArgumentException(problem);
        if (device == "cpu") return device;
        if (device == Auto)
        {
            var chosen = CudaDevices > 0 ? "cuda" : "cpu";
            if (Interlocked.Exchange(ref _autoAnnounced, 1) == 0)
                announce?.Invoke(CudaDevices > 0
                    ? $"device auto: cuda (libtorch sees {CudaDevices} CUDA device{(CudaDevices == 1 ? "" : "s")})"
                    : "device auto: cpu (libtorch has no CUDA device: no GPU, or the CPU build of libtorch)");
            return chosen;
        }
        if (CudaDevices == 0)
            throw new InvalidOperationException($"device {device}: no CUDA device is available to libtorch (no GPU, or the CPU build of libtorch; ./bitactors builds the CUDA variant when it finds a GPU and a PyTorch with CUDA)");
        var index = device.Length > 4 ? int.Parse(device[5..]) : 0;
        if (index >= CudaDevices)
            throw new InvalidOperationException($"device {device}: libtorch sees {CudaDevices} CUDA device{(CudaDevices == 1 ? "" : "s")} (cuda:0{(CudaDevices > 1 ? $" to cuda:{CudaDevices - 1}" : "")})");
        return device;
    }

    /// <summary><see cref="Resolve"/> as a TorchSharp device.</summary>
    public static torch.Device ToTorch(string device, Action<string>? announce = null) => new(Resolve(device, announce));

    private static int ProbeCuda()
    {
        try
        {
            // Loads the CUDA backend (libtorch_cuda) when there is one; false, not an exception, without it.
            return torch.TryInitializeDeviceType(DeviceType.CUDA) && torch.cuda.is_available() ? torch.cuda.device_count() : 0;
        }
        catch (Exception e) when (e is NotSupportedException or InvalidOperationException or DllNotFoundException or EntryPointNotFoundException)
        {
            return 0;
        }
    }
}
