using BitActors.Model.Architecture;
using BitActors.Model.Checkpoints;
using BitActors.Model.Inference;
using static TorchSharp.torch;

namespace BitActors.Model.Tests;

public sealed class PredictorTests : IDisposable
{
    private readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("bitactors-predictor");

    private static readonly ResNetV2Config Config = KnownModels.Get("Tiny", inChannels: 1);

    public void Dispose() => dir.Delete(recursive: true);

    /// <summary>A fresh 6-class model, saved as a native checkpoint.</summary>
    private (ResNetV2 Model, string Path) Saved()
    {
        var model = new ResNetV2(Config, 6);
        var path = Path.Combine(dir.FullName, "tiny.bin");
        CheckpointFiles.Save(model, path);
        return (model, path);
    }

    [Fact]
    public void ACheckpointRanksTheClassesOfAnImageByTheModelsLogits()
    {
        var (source, path) = Saved();
        using var _ = source;
        var pixels = Enumerable.Range(0, 32 * 32).Select(i => (i % 17) / 8f - 1f).ToArray();
        source.eval();
        float[] expected;
        using (no_grad())
        using (var x = tensor(pixels, [1, 1, 32, 32]))
        using (var y = source.forward(x))
            expected = y[0].data<float>().ToArray();

        using var predictor = Predictor.Load(Config, 6, path);
        var prediction = predictor.Predict(pixels, 32, top: 3);

        Assert.Equal(path, predictor.Checkpoint.Path);
        Assert.Equal(expected, prediction.Logits);
        Assert.Equal(3, prediction.Top.Count);
        Assert.Equal(expected.Select((l, i) => (l, i)).OrderByDescending(p => p.l).Take(3).Select(p => p.i), prediction.Top.Select(r => r.Class));
        var softmax = expected.Select(l => Math.Exp(l)).ToArray();
        Assert.All(prediction.Top, r => Assert.Equal(softmax[r.Class] / softmax.Sum(), r.Probability, 1e-5));
        Assert.Equal(6, predictor.Predict(pixels, 32, top: 10).Top.Count); // at most every class
    }

    [Fact]
    public void ACheckpointWhoseHeadHasOtherClassesIsRefused()
    {
        var (source, path) = Saved();
        source.Dispose();
        Assert.Throws<CheckpointMismatchException>(() => Predictor.Load(Config, 4, path));
    }
}
