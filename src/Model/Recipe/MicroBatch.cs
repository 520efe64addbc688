using BitActors.Model.Architecture;

namespace BitActors.Model.Recipe;

/// <summary>
/// BiT's batch split (gradient accumulation) chosen for a device: the largest divisor of the batch whose training
/// activations are estimated to fit half the device's memory. GroupNorm models learn the same from any split (one
/// update per batch); the estimate counts the feature maps a ResNet-v2 step keeps for its backward pass.
/// </summary>
public static class MicroBatch
{
    /// <summary>Estimated bytes one image's training step keeps (fp32 activations and their gradients) at <paramref name="crop"/>².</summary>
    public static long BytesPerImage(ResNetV2Config config, int crop)
    {
        double Map(int channels, double side) => channels * side * side;
        double side = crop / 2.0; // the root conv's output
        double elements = 3 * Map(config.RootWidth, side); // root conv, padding, pooling
        side /= 2;
        for (int stage = 0; stage < config.Units.Length; stage++)
        {
            int mid = config.MidWidth(stage), output = config.OutWidth(stage);
            for (int unit = 0; unit < config.Units[stage]; unit++)
            {
                double outSide = unit == 0 && stage > 0 ? side / 2 : side;
                // norm + relu + conv1 at the input's side, then norm/relu/conv2, norm/relu/conv3 and the sum at the output's.
                elements += Map(unit == 0 && stage > 0 ? config.OutWidth(stage - 1) : output, side) * 2 + Map(mid, side) * 3
                    + Map(mid, outSide) * 3 + Map(output, outSide) * 2 + (unit == 0 ? Map(output, outSide) : 0);
            }
            if (stage < config.Units.Length - 1) side /= 2;
        }
        // The maps kept for backward; their gradients live one layer at a time, kernels and norm statistics are small:
        // x1.25 slack. (R50x1 at 224 px: about 150 MiB an image; timm's R50 trains batch 256 at 224 px in about 24 GB.)
        return (long)(elements * sizeof(float) * 1.25);
    }

    /// <summary>The micro-batch for <paramref name="batch"/> images at <paramref name="crop"/>² with <paramref name="memoryBytes"/> of device memory.</summary>
    public static int For(ResNetV2Config config, int batch, int crop, long memoryBytes)
    {
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "batch must be positive");
        long fit = Math.Max(1, memoryBytes / 2 / Math.Max(1, BytesPerImage(config, crop)));
        if (fit >= batch) return batch;
        for (int micro = (int)fit; micro > 1; micro--)
            if (batch % micro == 0) return micro;
        return 1;
    }

    /// <summary>
    /// The memory of <paramref name="device"/>: for cpu what this process may use (physical memory or its container's
    /// limit); for cuda[:N] the card's total as nvidia-smi reports it (null when it cannot say).
    /// </summary>
    public static long? DeviceMemory(string device)
    {
        if (!device.StartsWith("cuda", StringComparison.Ordinal)) return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        var index = device.Contains(':') ? device[(device.IndexOf(':') + 1)..] : "0";
        try
        {
            var start = new System.Diagnostics.ProcessStartInfo("nvidia-smi", ["--query-gpu=memory.total", "--format=csv,noheader,nounits", "-i", index])
                { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = System.Diagnostics.Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            if (!process.WaitForExit(5000)) { process.Kill(); return null; }
            return process.ExitCode == 0 && long.TryParse(output.Result.Trim(), out var mib) ? mib << 20 : null;
        }
        catch (System.ComponentModel.Win32Exception) { return null; }
    }
}
