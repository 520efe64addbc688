using BitActors.Model.Checkpoints;
using BitActors.Model.Architecture;
using BitActors.Model.Recipe;
using TorchSharp;
using static TorchSharp.torch;

namespace BitActors.Model.Training;

/// <summary>How multi-label targets are learned (BiT-L's upstream data is multi-label).</summary>
public enum MultiLabelLoss
{
    /// <summary>One sigmoid cross-entropy per class; the head bias starts at the log-odds of a 1/K prior.</summary>
    Sigmoid,

    /// <summary>Softmax cross-entropy with the label mass split equally over an image's labels.</summary>
    SoftmaxSplit,
}

/// <summary>
/// How a classifier trains: SGD momentum and weight decay, MixUp α, micro-batch size (0 = whole batch),
/// the loss used when a batch carries multi-label targets, and the seed of MixUp's draws.
/// </summary>
public sealed record TrainingOptions(double Momentum = 0.9, double WeightDecay = 0.0, double MixUpAlpha = 0.0, int MicroBatch = 0, int Seed = 0,
    MultiLabelLoss MultiLabel = MultiLabelLoss.Sigmoid);

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

    public Classifier(ResNetV2 model, Device device, TrainingOptions? options = null)
    {
        this.model = model;
        this.device = device;
        this.options = options ?? new TrainingOptions();
        model.to(device);
        optimizer = new MomentumSgd(model.parameters(), this.options.Momentum, this.options.WeightDecay);
    }

    /// <summary>
    /// For sigmoid multi-label training from a random head: start every class at the prior 1/K, so the
    /// first steps do not push K−1 negatives per image from 50 % (bias = −log(K−1)).
    /// </summary>
    public void InitializeHeadForSigmoid()
    {
        if (model.NumClasses > 1) model.SetHeadBias(-Math.Log(model.NumClasses - 1));
    }

    public ResNetV2 Model => model;

    public Device Device => device;

    /// <summary>
    /// One optimizer step on the batch. When <see cref="TrainingOptions.MicroBatch"/> is smaller than the
    /// batch, gradients of the micro-batches are accumulated (each loss weighted by its share of the batch)
    /// before the single update: the same step as the whole batch at once (BiT's batch_split), since
    /// GroupNorm has no cross-example statistics. One MixUp λ serves the whole step.
    /// </summary>
    /// <param name="targets">Multi-hot labels, N × classes, for multi-label data; null = single-label (<paramref name="labels"/>).</param>
    public StepResult Step(int step, float[] pixels, long[] shape, int[] labels, double lr, float[]? targets = null)
    {
        using var scope = NewDisposeScope();
        var x = ToDevice(pixels, shape);
        var y = tensor(labels.Select(l => (long)l).ToArray()).to(device);
        var t = targets is null ? null : tensor(targets, [labels.Length, model.NumClasses]).to(device);
        return Step(step, x, y, lr, t);
    }

    /// <summary>
    /// Pixels to the device. On a GPU they go through a page-locked staging tensor kept between steps (one
    /// memcpy, then an asynchronous DMA) instead of a new CPU tensor and a pageable copy each step. Reusing
    /// it is safe: every step reads its loss back, which waits for the copy.
    /// </summary>
    private Tensor ToDevice(float[] pixels, long[] shape)
    {
        if (device.type != DeviceType.CUDA) return tensor(pixels, shape);
        if (pinnedPixels is null || pinnedPixels.numel() != pixels.LongLength)
        {
            pinnedPixels?.Dispose();
            using var plain = empty(pixels.LongLength);
            pinnedPixels = plain.pin_memory().DetachFromDisposeScope();
        }
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(pixels.AsSpan()).CopyTo(pinnedPixels.bytes);
        return pinnedPixels.view(shape).to(device, non_blocking: true);
    }

    private Tensor? pinnedPixels;

    /// <summary>The same step on tensors already on the device (benchmarks, or data staged there).</summary>
    public StepResult Step(int step, Tensor images, Tensor labels, double lr, Tensor? targets = null)
    {
        int n = (int)labels.shape[0];
        int micro = options.MicroBatch > 0 ? Math.Min(options.MicroBatch, n) : n;
        // Draws depend on (seed, step) only, so a resumed run draws what the uninterrupted one did.
        var random = new Random(Seeds.Mix(options.Seed, step));
        double lambda = MixUp.SampleLambda(options.MixUpAlpha, random);
        // The whole step inside a scope: TorchSharp objects made here (gradient wrappers too) stay
        // reachable until native code is done with them. See KeptScalars for what happens otherwise.
        using var stepScope = NewDisposeScope();
        var where = Breadcrumb.Enabled ? $"{model.Config.Name} batch {n} at {images.shape[^1]} px on {device}" : null;
        model.train();
        optimizer.ZeroGrad();
        double lossSum = 0;
        long correct = 0;
        for (int start = 0; start < n; start += micro)
        {
            int count = Math.Min(micro, n - start);
            using var scope = NewDisposeScope();
            var x = count == n ? images : images.narrow(0, start, count);
            var y = count == n ? labels : labels.narrow(0, start, count);
            var t = targets is null ? null : count == n ? targets : targets.narrow(0, start, count);
            Tensor loss, logits;
            if (where is not null) Breadcrumb.Mark(micro == n ? $"step {step} forward, {where}" : $"step {step} forward (images {start}-{start + count - 1}), {where}");
            if (lambda < 1.0)
            {
                var pairs = tensor(MixUp.Permutation(count, random)).to(device);
                using var l = lambda.ToScalar();
                using var rest = (1 - lambda).ToScalar();
                var mixed = x.mul(l).add(x.index_select(0, pairs).mul(rest), KeptScalars.One);
                logits = model.forward(mixed);
                loss = t is null
                    ? nn.functional.cross_entropy(logits, y).mul(l)
                        .add(nn.functional.cross_entropy(logits, y.index_select(0, pairs)).mul(rest), KeptScalars.One)
                    : MultiLabelLossOf(logits, t.mul(l).add(t.index_select(0, pairs).mul(rest), KeptScalars.One));
            }
            else
            {
                logits = model.forward(x);
                loss = t is null ? nn.functional.cross_entropy(logits, y) : MultiLabelLossOf(logits, t);
            }
            using var share = ((double)count / n).ToScalar();
            if (where is not null) Breadcrumb.Mark(micro == n ? $"step {step} backward, {where}" : $"step {step} backward (images {start}-{start + count - 1}), {where}");
            loss.mul(share).backward();
            var value = loss.item<float>();
            if (!float.IsFinite(value))
                throw new ArithmeticException($"loss became {value} at step {step} (lr {lr})");
            lossSum += value * count;
            // Multi-label: the top-1 prediction counts when it is any of the image's labels.
            correct += t is null
                ? logits.argmax(1).eq(y).sum().item<long>()
                : t.gather(1, logits.argmax(1).unsqueeze(1)).gt(KeptScalars.Zero).sum().item<long>();
        }
        if (where is not null) Breadcrumb.Mark($"step {step} update, {where}");
        optimizer.Step(lr);
        if (where is not null) Breadcrumb.Mark($"after step {step}, {where}");
        return new StepResult(step, lr, lossSum / n, (double)correct / n, n, lambda);
    }

    /// <summary>Mean over images of the per-image loss against (possibly mixed) multi-hot targets.</summary>
    private Tensor MultiLabelLossOf(Tensor logits, Tensor targets) => options.MultiLabel switch
    {
        MultiLabelLoss.Sigmoid => nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction: nn.Reduction.None).sum(1).mean(),
        _ => targets.div(targets.sum(1, keepdim: true)).mul(nn.functional.log_softmax(logits, 1)).sum(1).mean().neg(),
    };

    /// <summary>Correct top-1 and top-5, loss sum and each image's top-1 prediction, of one batch (the caller tallies them).</summary>
    public BatchEvaluation EvaluateBatch(float[] pixels, long[] shape, int[] labels)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        model.eval();
        if (Breadcrumb.Enabled) Breadcrumb.Mark($"evaluation, {model.Config.Name} batch {labels.Length} at {shape[^1]} px on {device}");
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

    /// <summary>Weights, momentum buffers and the next step, written atomically (see <see cref="TrainingCheckpoint"/>).</summary>
    public CheckpointFiles.Saved SaveTrainingState(string path, int nextStep, TrainingPosition? position = null, CheckpointMetadata? metadata = null) =>
        TrainingCheckpoint.Save(model, optimizer, nextStep, path, position, metadata);

    /// <summary>Restores what <see cref="SaveTrainingState"/> wrote; returns the step to continue from.</summary>
    public int LoadTrainingState(string path) => TrainingCheckpoint.Load(model, optimizer, path);

    public void Dispose()
    {
        pinnedPixels?.Dispose();
        optimizer.Dispose();
        model.Dispose();
    }
}

/// <summary>One evaluated batch: correct top-1 and top-5 counts, loss sum, and the top-1 prediction per image.</summary>
public sealed record BatchEvaluation(long Top1, long Top5, double LossSum, long[] Predicted);
