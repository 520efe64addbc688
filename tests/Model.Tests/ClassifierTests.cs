using BitActors.Model.Architecture;
using BitActors.Model.Training;
using static TorchSharp.torch;

namespace BitActors.Model.Tests;

public class ClassifierTests
{
    private static (float[] Pixels, int[] Labels) TwoClassBatch(int n, int seed)
    {
        // Class 0: dark images, class 1: bright images, with noise.
        var random = new Random(seed);
        var pixels = new float[n * 16 * 16];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = i % 2;
            for (int p = 0; p < 256; p++)
                pixels[i * 256 + p] = (labels[i] == 0 ? -0.5f : 0.5f) + (float)(random.NextDouble() - 0.5) * 0.5f;
        }
        return (pixels, labels);
    }

    [Fact]
    public void TrainingStepsLowerTheLossOnALearnableTask()
    {
        manual_seed(1);
        using var classifier = new Classifier(new ResNetV2(KnownModels.Get("Tiny", 1), 2), CPU);
        var (pixels, labels) = TwoClassBatch(16, 0);
        var first = classifier.Step(0, pixels, [16, 1, 16, 16], labels, 0.05);
        StepResult last = first;
        for (int s = 1; s < 15; s++) last = classifier.Step(s, pixels, [16, 1, 16, 16], labels, 0.05);
        Assert.True(last.Loss < first.Loss * 0.5, $"loss {first.Loss} → {last.Loss}");
        var (evalPixels, evalLabels) = TwoClassBatch(16, 1);
        var (top1, _, _) = classifier.EvaluateBatch(evalPixels, [16, 1, 16, 16], evalLabels);
        Assert.True(top1 >= 14, $"top-1 {top1}/16");
    }

    [Fact]
    public void CheckpointRoundTripsAndTransfersWithoutTheHead()
    {
        var dir = Directory.CreateTempSubdirectory("bitactors-ckpt");
        try
        {
            manual_seed(2);
            using var source = new ResNetV2(KnownModels.Get("Tiny", 1), 5);
            var saved = Checkpoints.Save(source, Path.Combine(dir.FullName, "backbone.bin"));
            Assert.True(saved.Bytes > 0);
            Assert.Equal(64, saved.Sha256.Length);

            using var target = new ResNetV2(KnownModels.Get("Tiny", 1), 3, zeroHead: true);
            Checkpoints.LoadBackbone(target, saved.Path, skipHead: true);
            using var x = randn(2, 1, 32, 32);
            using var a = source.Features(x);
            using var b = target.Features(x);
            Assert.True(a.allclose(b));
            using var logits = target.forward(x);
            Assert.Equal(0.0, logits.abs().max().item<float>());
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void TruncatedCheckpointIsRefusedWithItsPath()
    {
        var dir = Directory.CreateTempSubdirectory("bitactors-ckpt");
        try
        {
            using var source = new ResNetV2(KnownModels.Get("Tiny", 1), 5);
            var saved = Checkpoints.Save(source, Path.Combine(dir.FullName, "backbone.bin"));
            var bytes = File.ReadAllBytes(saved.Path);
            File.WriteAllBytes(saved.Path, bytes[..(bytes.Length / 2)]);
            using var target = new ResNetV2(KnownModels.Get("Tiny", 1), 5);
            var e = Assert.Throws<InvalidDataException>(() => Checkpoints.LoadBackbone(target, saved.Path, skipHead: false));
            Assert.Contains(saved.Path, e.Message);
        }
        finally { dir.Delete(true); }
    }
}
