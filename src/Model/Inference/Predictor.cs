using BitActors.Model.Architecture;
using BitActors.Model.Checkpoints;
using static TorchSharp.torch;

namespace BitActors.Model.Inference;

/// <summary>A class of one prediction: its index, logit and softmax probability.</summary>
public sealed record RankedClass(int Class, float Logit, float Probability);

/// <summary>One image's logits (every class, in class order) and its <c>top</c> classes, best first.</summary>
public sealed record Prediction(float[] Logits, IReadOnlyList<RankedClass> Top);

/// <summary>
/// A checkpoint in evaluation mode, classifying preprocessed images one at a time. Pixels come in as the
/// model's input already (CHW floats in [-1, 1], e.g. BiT's eval transform): decoding images is not the
/// model's concern.
/// </summary>
public sealed class Predictor : IDisposable
{
    private readonly ResNetV2 _model;

    private Predictor(ResNetV2 model, LoadReport checkpoint)
    {
        _model = model;
        Checkpoint = checkpoint;
    }

    /// <summary>What was loaded (path, format, layout).</summary>
    public LoadReport Checkpoint { get; }

    public ResNetV2Config Config => _model.Config;

    public int Classes => _model.NumClasses;

    /// <summary>Builds the model and loads <paramref name="checkpoint"/> into it, head included (its size must be <paramref name="classes"/>).</summary>
    public static Predictor Load(ResNetV2Config config, int classes, string checkpoint)
    {
        var model = new ResNetV2(config, classes);
        try
        {
            var report = CheckpointFiles.Load(model, checkpoint, HeadPolicy.Require);
            model.eval();
            return new Predictor(model, report);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Classifies one image given as <see cref="Config"/>'s input channels × <paramref name="resolution"/>² floats.</summary>
    /// <param name="top">How many classes to rank (at most <see cref="Classes"/>).</param>
    public Prediction Predict(float[] pixels, int resolution, int top)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = tensor(pixels, [1, Config.InChannels, resolution, resolution]);
        var logits = _model.forward(x)[0];
        var probabilities = logits.softmax(0);
        var (_, indices) = logits.topk(Math.Min(top, Classes));
        var logitArray = logits.data<float>().ToArray();
        var probabilityArray = probabilities.data<float>().ToArray();
        var ranked = indices.data<long>().ToArray().Select(i => new RankedClass((int)i, logitArray[i], probabilityArray[i])).ToList();
        return new Prediction(logitArray, ranked);
    }

    public void Dispose() => _model.Dispose();
}
