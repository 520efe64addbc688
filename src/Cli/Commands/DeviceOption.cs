using Akka.Configuration;
using BitActors.Model.Training;
using Serilog;
using Spectre.Console;

namespace BitActors.Cli.Commands;

/// <summary><c>--device</c> of the commands that train: checked when parsed, resolved (auto → cuda or cpu) before any tensor.</summary>
internal static class DeviceOption
{
    public const string Help = "auto (cuda when libtorch has a GPU, else cpu), cpu, cuda or cuda:N";

    public static ValidationResult Validate(string? device) =>
        device is not null && Devices.Problem(device) is { } problem ? ValidationResult.Error($"--device: {problem}") : ValidationResult.Success();

    /// <summary>The device to train on: <paramref name="option"/>, else <c>bitactors.device</c>; auto's choice is logged once.</summary>
    public static string Resolve(string? option, Config? config = null)
    {
        var (device, source) = option is not null ? (option, "--device") : (config?.GetString("bitactors.device") ?? Devices.Auto, "bitactors.device");
        if (Devices.Problem(device) is { } problem) throw new InvalidDataException($"{source}: {problem}");
        return Devices.Resolve(device, m => Log.Information("{Message}", m));
    }
}
