using BitActors.Model.Architecture;
using BitActors.Model.Recipe;
using TorchSharp;
using static TorchSharp.torch;

namespace BitActors.Model.Training;

/// <summary>How a classifier trains: SGD momentum and weight decay, MixUp α, micro-batch size (0 = whole batch).</summary>
public sealed record TrainingOptions(double Momentum = 0.9, double WeightDecay = 0.0, double MixUpAlpha = 0.0, int MicroBatch = 0, int Seed = 0);

/// <summary>
/// A ResNet-v2 classifier with its optimizer on one device: the train and eval steps.
/// Not thread-safe; TorchSharp dispose scopes are per thread, so keep one instance on one thread.
/// Inputs arrive as NCHW float arrays already scaled to [-1, 1].
/// </summary>
public sealed class Classifier : IDisposable
{
    private readonly MomentumSgd optimizer;
    private readonly Device device;
    private readonly ResNetV2 model;
    private readonly TrainingOptions options;
    private readonly Random random;

    public Classifier(ResNetV2 model, Device device, TrainingOptions? options = null)
    {
        this.model = model;
        this.device = device;
        this.options = options ?? new TrainingOptions();
        random = new Random(this.options.Seed);
        model.to(device);
        optimizer = new MomentumSgd(model.parameters(), this.options.Momentum, this.options.WeightDecay);
    }

    public ResNetV2 Model => model;

    public Device Device => device;

    /// <summary>
    /// One optimizer step on the batch. When <see cref="TrainingOptions.MicroBatch"/> is smaller than the
    /// batch, gradients of the micro-batches are accumulated (each loss weighted by its share of the batch)
    /// before the single update: the same step as the whole batch at once (BiT's batch_split), since
    /// GroupNorm has no cross-example statistics. One MixUp λ serves the whole step.
    /// </summary>
    public StepResult Step(int step, float[] pixels, long[] shape, int[] labels, double lr)
    {
        int n = labels.Length;
        int micro = options.MicroBatch > 0 ? Math.Min(options.MicroBatch, n) : n;
        double lambda = MixUp.SampleLambda(options.MixUpAlpha, random);
        model.train();
        optimizer.ZeroGrad();
        double lossSum = 0;
        long correct = 0;
        var perImage = shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        for (int start = 0; start < n; start += micro)
        {
            int count = Math.Min(micro, n - start);
            using var scope = NewDisposeScope();
            var x = tensor(pixels.AsSpan((int)(start * perImage), (int)(count * perImage)).ToArray(), [count, .. shape[1..]]).to(device);
            var y = tensor(labels.AsSpan(start, count).ToArray().Select(l => (long)l).ToArray()).to(device);
            Tensor loss, logits;
            if (lambda < 1.0)
            {
                var pairs = tensor(MixUp.Permutation(count, random)).to(device);
                using var l = lambda.ToScalar();
                using var rest = (1 - lambda).ToScalar();
                var mixed = x.mul(l).add(x.index_select(0, pairs).mul(rest), KeptScalars.One);
                logits = model.forward(mixed);
                loss = nn.functional.cross_entropy(logits, y).mul(l)
                    .add(nn.functional.cross_entropy(logits, y.index_select(0, pairs)).mul(rest), KeptScalars.One);
            }
            else
            {
                logits = model.forward(x);
                loss = nn.functional.cross_entropy(logits, y);
            }
            using var share = ((double)count / n).ToScalar();
            loss.mul(share).backward();
            var value = loss.item<float>();
            if (!float.IsFinite(value))
                throw new ArithmeticException($"loss became {value} at step {step} (lr {lr})");
            lossSum += value * count;
            correct += logits.argmax(1).eq(y).sum().item<long>();
        }
        optimizer.Step(lr);
        return new StepResult(step, lr, lossSum / n, (double)correct / n, n, lambda);
    }

    /// <summary>Correct top-1 and top-5, loss sum and the confusion counts (true × predicted) of one batch.</summary>
    public BatchEvaluation EvaluateBatch(float[] pixels, long[] shape, int[] labels)
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
        var predicted = topk.narrow(1, 0, 1).flatten().cpu().data<long>().ToArray();
        return new BatchEvaluation(top1, top5, lossSum, predicted);
    }

    public void Dispose()
    {
        optimizer.Dispose();
        model.Dispose();
    }
}

/// <summary>One evaluated batch: correct top-1 and top-5 counts, loss sum, and the top-1 prediction per image.</summary>
public sealed record BatchEvaluation(long Top1, long Top5, double LossSum, long[] Predicted);
