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
    public static TrainBenchmarkResult Run(string arch, int classes, int batch, int resolution, int steps, int warmupSteps, Device device, Action<string>? progress = null)
    {
        manual_seed(0);
        using var classifier = new Classifier(new ResNetV2(KnownModels.Get(arch), classes), device);
        var parameters = classifier.Model.parameters().Sum(p => p.numel());
        using var images = randn(batch, 3, resolution, resolution, device: device);
        using var labels = randint(0, classes, [batch], device: device);
        for (int s = 0; s < warmupSteps; s++) classifier.Step(s, images, labels, 0.003);
        progress?.Invoke($"{arch} batch {batch} at {resolution}px on {device}: {warmupSteps} warmup steps done");
        var times = new double[steps];
        StepResult last = null!;
        var total = Stopwatch.StartNew();
        for (int s = 0; s < steps; s++)
        {
            var clock = Stopwatch.StartNew();
            last = classifier.Step(warmupSteps + s, images, labels, 0.003); // reads the loss back: synchronises
            times[s] = clock.Elapsed.TotalSeconds;
        }
        var seconds = total.Elapsed.TotalSeconds;
        Array.Sort(times);
        return new TrainBenchmarkResult(arch, device.ToString(), batch, resolution, steps, warmupSteps,
            batch * steps / seconds, seconds / steps, times[steps / 2], last.Loss, parameters);
    }
}
