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
        var evaluation = classifier.EvaluateBatch(evalPixels, [16, 1, 16, 16], evalLabels);
        Assert.True(evaluation.Top1 >= 14, $"top-1 {evaluation.Top1}/16");
        Assert.Equal(evaluation.Top1, evaluation.Predicted.Zip(evalLabels).Count(p => p.First == p.Second));
    }

    [Fact]
    public void MicroBatchesAccumulateToTheSameStepAsTheWholeBatch()
    {
        var (pixels, labels) = TwoClassBatch(8, 3);
        long[] shape = [8, 1, 16, 16];
        manual_seed(5);
        using var whole = new Classifier(new ResNetV2(KnownModels.Get("Tiny", 1), 2), CPU);
        using var split = new Classifier(new ResNetV2(KnownModels.Get("Tiny", 1), 2), CPU, new TrainingOptions(MicroBatch: 2));
        split.Model.load_state_dict(whole.Model.state_dict());
        for (int step = 0; step < 3; step++)
        {
            var a = whole.Step(step, pixels, shape, labels, 0.05);
            var b = split.Step(step, pixels, shape, labels, 0.05);
            Assert.Equal(a.Loss, b.Loss, 4);
        }
        var wholeParameters = whole.Model.parameters().ToArray();
        var splitParameters = split.Model.parameters().ToArray();
        for (int i = 0; i < wholeParameters.Length; i++)
            Assert.True(wholeParameters[i].allclose(splitParameters[i], rtol: 1e-4, atol: 1e-5), $"parameter {i} differs");
    }

    [Fact]
    public void MixUpDrawsOneLambdaPerStepAndStillLearns()
    {
        manual_seed(6);
        using var classifier = new Classifier(new ResNetV2(KnownModels.Get("Tiny", 1), 2), CPU, new TrainingOptions(MixUpAlpha: 0.1, Seed: 1));
        var (pixels, labels) = TwoClassBatch(16, 0);
        var results = Enumerable.Range(0, 15).Select(s => classifier.Step(s, pixels, [16, 1, 16, 16], labels, 0.05)).ToList();
        Assert.All(results, r => Assert.InRange(r.MixUpLambda, 0.0, 1.0));
        Assert.True(results.Select(r => r.MixUpLambda).Distinct().Count() > 10);
        var evaluation = classifier.EvaluateBatch(TwoClassBatch(16, 1).Pixels, [16, 1, 16, 16], TwoClassBatch(16, 1).Labels);
        Assert.True(evaluation.Top1 >= 14, $"top-1 {evaluation.Top1}/16");
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
