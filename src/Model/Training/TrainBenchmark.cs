using System.Diagnostics;
using BitActors.Model.Architecture;
using static TorchSharp.torch;

namespace BitActors.Model.Training;

/// <summary>What one training-throughput measurement saw.</summary>
public sealed record TrainBenchmarkResult(
    string Arch, string Device, int Batch, int Resolution, int Steps, int WarmupSteps,
    double ImagesPerSecond, double MeanStepSeconds, double MedianStepSeconds, double FinalLoss, long Parameters);

/// <summary>
/// Training throughput of <see cref="Classifier.Step(int, Tensor, Tensor, double, Tensor?)"/> (forward,
/// backward, SGD momentum update, loss read back) on synthetic data already on the device, the same work
/// as a PyTorch eager loop; warmup steps (cuDNN autotuning, allocator growth) are not timed.
/// </summary>
public static class TrainBenchmark
{
    /// <param name="channels">Input channels (1: grayscale, as the Fashion-MNIST pipeline feeds).</param>
    /// <param name="weightDecay">SGD weight decay (BiT upstream: 1e-4).</param>
    /// <param name="hostData">Feed each step from managed arrays, as the actor pipeline does (a host-to-device copy per step), instead of tensors already on the device.</param>
    public static TrainBenchmarkResult Run(string arch, int classes, int batch, int resolution, int steps, int warmupSteps, Device device, Action<string>? progress = null,
        int channels = 3, double weightDecay = 0.0, bool hostData = false)
    {
        manual_seed(0);
        using var classifier = new Classifier(new ResNetV2(KnownModels.Get(arch, channels), classes), device, new TrainingOptions(WeightDecay: weightDecay));
        var parameters = classifier.Model.parameters().Sum(p => p.numel());
        using var images = randn(batch, channels, resolution, resolution, device: device);
        using var labels = randint(0, classes, [batch], device: device);
        float[]? hostPixels = null;
        int[]? hostLabels = null;
        if (hostData)
        {
            using var cpuImages = images.cpu();
            using var cpuLabels = labels.cpu();
            hostPixels = cpuImages.data<float>().ToArray();
            hostLabels = cpuLabels.data<long>().ToArray().Select(l => (int)l).ToArray();
        }
        long[] shape = [batch, channels, resolution, resolution];
        StepResult Step(int s) => hostData ? classifier.Step(s, hostPixels!, shape, hostLabels!, 0.003) : classifier.Step(s, images, labels, 0.003);
        for (int s = 0; s < warmupSteps; s++) Step(s);
        progress?.Invoke($"{arch} batch {batch} at {resolution}px on {device}: {warmupSteps} warmup steps done");
        var times = new double[steps];
        StepResult last = null!;
        var total = Stopwatch.StartNew();
        for (int s = 0; s < steps; s++)
        {
            var clock = Stopwatch.StartNew();
            last = Step(warmupSteps + s); // reads the loss back: synchronises
            times[s] = clock.Elapsed.TotalSeconds;
        }
        var seconds = total.Elapsed.TotalSeconds;
        Array.Sort(times);
        return new TrainBenchmarkResult(arch, device.ToString(), batch, resolution, steps, warmupSteps,
            batch * steps / seconds, seconds / steps, times[steps / 2], last.Loss, parameters);
    }
}
