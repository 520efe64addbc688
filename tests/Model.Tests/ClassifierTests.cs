using BitActors.Model.Checkpoints;
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

    /// <summary>Three classes; class 2 is present whenever the image is bright, together with class 0 or 1.</summary>
    private static (float[] Pixels, int[] Labels, float[] Targets) MultiLabelBatch(int n, int seed)
    {
        var (pixels, labels) = TwoClassBatch(n, seed);
        var targets = new float[n * 3];
        for (int i = 0; i < n; i++)
        {
            targets[i * 3 + labels[i]] = 1;
            if (labels[i] == 1) targets[i * 3 + 2] = 1;
        }
        return (pixels, labels, targets);
    }

    [Theory]
    [InlineData(MultiLabelLoss.Sigmoid)]
    [InlineData(MultiLabelLoss.SoftmaxSplit)]
    public void MultiLabelTargetsAreLearned(MultiLabelLoss loss)
    {
        manual_seed(7);
        using var classifier = new Classifier(new ResNetV2(KnownModels.Get("Tiny", 1), 3), CPU, new TrainingOptions(MultiLabel: loss));
        if (loss == MultiLabelLoss.Sigmoid) classifier.InitializeHeadForSigmoid();
        var (pixels, labels, targets) = MultiLabelBatch(16, 0);
        var first = classifier.Step(0, pixels, [16, 1, 16, 16], labels, 0.05, targets);
        StepResult last = first;
        for (int s = 1; s < 20; s++) last = classifier.Step(s, pixels, [16, 1, 16, 16], labels, 0.05, targets);
        Assert.True(last.Loss < first.Loss * 0.7, $"{loss}: loss {first.Loss} → {last.Loss}");
        using var _ = no_grad();
        using var logits = classifier.Model.forward(tensor(pixels, [16, 1, 16, 16]));
        // Bright images (label 1) carry class 2 too: its logit must rank above class 0's for them.
        var values = logits.data<float>().ToArray();
        for (int i = 0; i < 16; i++)
            if (labels[i] == 1) Assert.True(values[i * 3 + 2] > values[i * 3 + 0], $"image {i}");
    }

    [Fact]
    public void SigmoidHeadStartsAtThePriorOfOneInK()
    {
        using var classifier = new Classifier(new ResNetV2(KnownModels.Get("Tiny", 1), 5, zeroHead: true), CPU);
        classifier.InitializeHeadForSigmoid();
        using var logits = classifier.Model.forward(zeros(1, 1, 16, 16));
        using var probabilities = logits.sigmoid();
        Assert.All(probabilities.data<float>().ToArray(), p => Assert.Equal(0.2f, p, 4));
    }

    [Fact]
    public void SoftmaxSplitWithOneLabelIsPlainCrossEntropy()
    {
        var (pixels, labels, _) = MultiLabelBatch(8, 2);
        var oneHot = new float[8 * 3];
        for (int i = 0; i < 8; i++) oneHot[i * 3 + labels[i]] = 1;
        manual_seed(8);
        using var a = new Classifier(new ResNetV2(KnownModels.Get("Tiny", 1), 3), CPU, new TrainingOptions(MultiLabel: MultiLabelLoss.SoftmaxSplit));
        using var b = new Classifier(new ResNetV2(KnownModels.Get("Tiny", 1), 3), CPU);
        b.Model.load_state_dict(a.Model.state_dict());
        Assert.Equal(b.Step(0, pixels, [8, 1, 16, 16], labels, 0.0).Loss, a.Step(0, pixels, [8, 1, 16, 16], labels, 0.0, oneHot).Loss, 5);
    }

    [Fact]
    public void CheckpointRoundTripsAndTransfersWithoutTheHead()
    {
        var dir = Directory.CreateTempSubdirectory("bitactors-ckpt");
        try
        {
            manual_seed(2);
            using var source = new ResNetV2(KnownModels.Get("Tiny", 1), 5);
            var saved = CheckpointFiles.Save(source, Path.Combine(dir.FullName, "backbone.bin"));
            Assert.True(saved.Bytes > 0);
            Assert.Equal(64, saved.Sha256.Length);

            using var target = new ResNetV2(KnownModels.Get("Tiny", 1), 3, zeroHead: true);
            CheckpointFiles.Load(target, saved.Path, HeadPolicy.Replace);
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
    public void AResumedClassifierContinuesExactlyLikeTheUninterruptedOne()
    {
        var dir = Directory.CreateTempSubdirectory("bitactors-resume");
        try
        {
            var (pixels, labels) = TwoClassBatch(8, 4);
            long[] shape = [8, 1, 16, 16];
            var options = new TrainingOptions(WeightDecay: 1e-4, MixUpAlpha: 0.1, Seed: 3);
            manual_seed(10);
            using var uninterrupted = new Classifier(new ResNetV2(KnownModels.Get("Tiny", 1), 2), CPU, options);
            for (int s = 0; s < 4; s++) uninterrupted.Step(s, pixels, shape, labels, 0.05);
            var path = Path.Combine(dir.FullName, "train.bin");
            uninterrupted.SaveTrainingState(path, nextStep: 4);
            var expected = Enumerable.Range(4, 4).Select(s => uninterrupted.Step(s, pixels, shape, labels, 0.05).Loss).ToArray();

            manual_seed(99); // other initial weights: everything must come from the checkpoint
            using var resumed = new Classifier(new ResNetV2(KnownModels.Get("Tiny", 1), 2), CPU, options);
            var next = resumed.LoadTrainingState(path);
            Assert.Equal(4, next);
            var actual = Enumerable.Range(next, 4).Select(s => resumed.Step(s, pixels, shape, labels, 0.05).Loss).ToArray();
            for (int i = 0; i < 4; i++) Assert.Equal(expected[i], actual[i], 5);
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void ATrainingStateIsRefusedWithWeightsItWasNotWrittenWith()
    {
        var dir = Directory.CreateTempSubdirectory("bitactors-resume");
        try
        {
            using var a = new Classifier(new ResNetV2(KnownModels.Get("Tiny", 1), 2), CPU);
            var path = Path.Combine(dir.FullName, "train.bin");
            a.SaveTrainingState(path, 1);
            using (var other = new ResNetV2(KnownModels.Get("Tiny", 1), 2)) CheckpointFiles.Save(other, path); // weights replaced
            var e = Assert.Throws<InvalidDataException>(() => a.LoadTrainingState(path));
            Assert.Contains("do not match", e.Message);
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
            var saved = CheckpointFiles.Save(source, Path.Combine(dir.FullName, "backbone.bin"));
            var bytes = File.ReadAllBytes(saved.Path);
            File.WriteAllBytes(saved.Path, bytes[..(bytes.Length / 2)]);
            using var target = new ResNetV2(KnownModels.Get("Tiny", 1), 5);
            var e = Assert.Throws<CorruptCheckpointException>(() => CheckpointFiles.Load(target, saved.Path, HeadPolicy.Require));
            Assert.Contains(saved.Path, e.Message);
            Assert.Contains("sha256", e.Message); // the hash beside it no longer matches

            File.Delete(CheckpointFiles.HashPath(saved.Path));
            e = Assert.Throws<CorruptCheckpointException>(() => CheckpointFiles.Load(target, saved.Path, HeadPolicy.Require));
            Assert.Contains(saved.Path, e.Message);
            Assert.Contains("truncated", e.Message);
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void ATrainingStateKeepsItsScheduleAndDataPositionAndIsHashed()
    {
        var dir = Directory.CreateTempSubdirectory("bitactors-position");
        try
        {
            using var a = new Classifier(new ResNetV2(KnownModels.Get("Tiny", 1), 2), CPU);
            var schedule = BitActors.Model.Recipe.StepSchedule.Upstream(16, 100);
            var position = new TrainingPosition(schedule, 16, 40 * 16, "topic classes [0,1]", 3);
            var path = Path.Combine(dir.FullName, "train.bin");
            a.SaveTrainingState(path, 40, position);
            var read = TrainingCheckpoint.ReadHeader(path).Position!;
            Assert.Equal(640, read.ExamplesSeen);
            Assert.Null(read.Conflict(position));
            Assert.Contains("schedule", read.Conflict(position with { Schedule = BitActors.Model.Recipe.StepSchedule.Upstream(16, 200) }));
            Assert.True(File.Exists(TrainingCheckpoint.StatePath(path) + ".sha256"));

            var state = TrainingCheckpoint.StatePath(path);
            var bytes = File.ReadAllBytes(state);
            bytes[^3] ^= 0x01; // a flipped bit in the momentum buffers
            File.WriteAllBytes(state, bytes);
            var e = Assert.Throws<CorruptCheckpointException>(() => a.LoadTrainingState(path));
            Assert.Contains("sha256", e.Message);
        }
        finally { dir.Delete(true); }
    }
}
