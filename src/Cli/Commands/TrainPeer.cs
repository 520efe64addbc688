using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace BitActors.Cli.Commands;

/// <summary>What the PyTorch peer (bench/peers/bit_train.py) measured in one round.</summary>
internal sealed record TrainPeerResult(double ImagesPerSecond, double MeanStepSeconds, double MedianStepSeconds, double FinalLoss, long Parameters, int Threads, string Torch, string? Blas);

/// <summary>
/// The PyTorch side of <c>bench train --peer</c>: the same BiT ResNet-v2 in plain torch (bench/peers/bit_resnetv2.py),
/// the same setting and thread count, run by a Python with torch (Debian's python3-torch) as a child process
/// while BitActors' own measurement is not running.
/// </summary>
internal static class TrainPeer
{
    public static string Script => Path.Combine(AppContext.BaseDirectory, "bench", "peers", "bit_train.py");

    /// <summary>Fails before anything is measured when the peer cannot start at all.</summary>
    public static void Require(string python)
    {
        if (!File.Exists(Script)) throw new FileNotFoundException($"the PyTorch peer {Script} is not in the build output");
        if (!File.Exists(python)) throw new FileNotFoundException($"--python {python}: no such file (the peer needs a Python with torch, e.g. Debian's python3-torch at /usr/bin/python3)");
    }

    public static TrainPeerResult Run(string python, string arch, int classes, int channels, int batch, int resolution, int steps, int warmup,
        double weightDecay, bool hostData, int threads, string device)
    {
        Require(python);
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        string[] arguments =
        [
            Script, "--arch", arch, "--classes", I(classes), "--channels", I(channels), "--batch", I(batch), "--resolution", I(resolution),
            "--steps", I(steps), "--warmup", I(warmup), "--weight-decay", weightDecay.ToString("R", CultureInfo.InvariantCulture),
            "--threads", I(threads), "--device", device,
        ];
        foreach (var a in arguments) start.ArgumentList.Add(a);
        if (hostData) start.ArgumentList.Add("--host-data");
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{python} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            var reason = stderr.Result.Trim().Split('\n').TakeLast(3);
            throw new InvalidOperationException($"the PyTorch peer ({python} {Script}) failed with exit code {process.ExitCode}" +
                $" (it needs torch and numpy: Debian's python3-torch, python3-numpy): {string.Join(" | ", reason)}");
        }
        var last = stdout.Result.Trim().Split('\n').LastOrDefault() ?? "";
        try
        {
            using var json = JsonDocument.Parse(last);
            var r = json.RootElement;
            return new TrainPeerResult(r.GetProperty("images_per_second").GetDouble(), r.GetProperty("mean_step_seconds").GetDouble(),
                r.GetProperty("median_step_seconds").GetDouble(), r.GetProperty("final_loss").GetDouble(), r.GetProperty("parameters").GetInt64(),
                r.GetProperty("threads").GetInt32(), r.GetProperty("torch").GetString() ?? "",
                r.TryGetProperty("blas", out var blas) ? blas.GetString() : null);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new InvalidDataException($"the PyTorch peer printed no result JSON: '{last}'", e);
        }
    }

    private static string I(int value) => value.ToString(CultureInfo.InvariantCulture);
}
