using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace BitActors.Cli.Tests;

/// <summary>Python/timm_resnetv2.py, the plain-PyTorch ResNet-v2 under timm's names (python3-torch), and its input files.</summary>
public static class PyTorchPeer
{
    private const string Python = "/usr/bin/python3";

    /// <summary>The peer's logits of the first image of <paramref name="input"/> (a .npy) through <paramref name="weights"/> (loaded strictly).</summary>
    public static float[] Logits(string weights, string input) =>
        JsonDocument.Parse(Run("--weights", weights, "--input", input)).RootElement.GetProperty("logits")[0].EnumerateArray().Select(e => e.GetSingle()).ToArray();

    /// <summary>A little-endian float32 .npy file (format 1.0).</summary>
    public static void WriteNpy(string path, float[] values, int[] shape)
    {
        var header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({string.Join(", ", shape)}), }}";
        header = header.PadRight(((10 + header.Length + 1 + 63) / 64) * 64 - 10 - 1) + "\n";
        using var file = new BinaryWriter(File.Create(path));
        file.Write(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 });
        file.Write((ushort)header.Length);
        file.Write(Encoding.ASCII.GetBytes(header));
        foreach (var v in values) file.Write(v);
    }

    public static string Run(params string[] arguments)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Python", "timm_resnetv2.py"));
        foreach (var a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{Python} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3))) { process.Kill(); throw new TimeoutException("timm_resnetv2.py ran over 3 minutes"); }
        Assert.True(process.ExitCode == 0, $"timm_resnetv2.py failed ({process.ExitCode}); it needs python3-torch and python3-numpy:\n{stderr.Result}");
        return stdout.Result;
    }
}
