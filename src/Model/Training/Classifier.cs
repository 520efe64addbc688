using BitActors.Model.Architecture;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BitActors.Model.Training;

/// <summary>
/// A ResNet-v2 classifier with its SGD optimizer on one device: the train and eval steps.
/// Not thread-safe; TorchSharp dispose scopes are per thread, so keep one instance on one thread.
/// Inputs arrive as NCHW float arrays already scaled to [-1, 1].
/// </summary>
public sealed class Classifier : IDisposable
{
    private readonly MomentumSgd optimizer;
    private readonly Device device;
    private readonly ResNetV2 model;

    public Classifier(ResNetV2 model, Device device, double momentum = 0.9, double weightDecay = 0.0)
    {
        this.model = model;
        this.device = device;
        model.to(device);
        optimizer = new MomentumSgd(model.parameters(), momentum, weightDecay);
    }

    public ResNetV2 Model => model;

    public Device Device => device;

    /// <summary>
    /// One SGD step. <paramref name="accumulate"/> micro-batches can be folded into one step by calling
    /// <see cref="Step"/> with the whole batch; gradient accumulation arrives with the full recipe.
    /// </summary>
    public StepResult Step(int step, float[] pixels, long[] shape, int[] labels, double lr)
    {
        using var scope = NewDisposeScope();
        model.train();
        var x = tensor(pixels, shape).to(device);
        var y = tensor(labels.Select(l => (long)l).ToArray()).to(device);
        optimizer.ZeroGrad();
        var logits = model.forward(x);
        var loss = nn.functional.cross_entropy(logits, y);
        loss.backward();
        optimizer.Step(lr);
        var lossValue = loss.item<float>();
        if (!float.IsFinite(lossValue))
            throw new ArithmeticException($"loss became {lossValue} at step {step} (lr {lr})");
        var correct = logits.argmax(1).eq(y).sum().item<long>();
        return new StepResult(step, lr, lossValue, (double)correct / labels.Length, labels.Length);
    }

    /// <summary>Sums of correct top-1, top-5 and loss over one batch, for a running evaluation.</summary>
    public (long Top1, long Top5, double LossSum) EvaluateBatch(float[] pixels, long[] shape, int[] labels)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        model.eval();
        var x = tensor(pixels, shape).to(device);
        var y = tensor(labels.Select(l => (long)l).ToArray()).to(device);
        var logits = model.forward(x);
        var lossSum = nn.functional.cross_entropy(logits, y, reduction: nn.Reduction.Sum).item<float>();
        var k = Math.Min(5, logits.shape[1]);
        var topk = logits.topk((int)k, 1).indexes;
        var hits = topk.eq(y.unsqueeze(1));
        var top1 = hits.narrow(1, 0, 1).sum().item<long>();
        var top5 = hits.sum().item<long>();
        return (top1, top5, lossSum);
    }

    public void Dispose()
    {
        optimizer.Dispose();
        model.Dispose();
    }
}
