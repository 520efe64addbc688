using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BitActors.Model.Training;

/// <summary>
/// SGD with momentum and optional weight decay, PyTorch's update rule (BiT trains with it, momentum 0.9):
/// d = g + wd·p; buf = d at the first step, then buf = m·buf + d; p -= lr·buf.
/// All parameters are views into one flat tensor, their gradients views into another, and the momentum
/// buffers into a third, so a step is three or four element-wise operations over the whole model instead
/// of three per parameter tensor, and zeroing the gradients is one. Every parameter takes part in every
/// step: one that received no gradient counts as a zero gradient (PyTorch's SGD with gradients zeroed
/// rather than set to None). Load the model's weights with copy_ (as the checkpoint loaders do), and do
/// not move the model to another device after this is built: either would detach it from the views.
/// Written here rather than taken from TorchSharp because its optimizer passes temporary Scalars to
/// native code (see <see cref="KeptScalars"/>); every Scalar and tensor wrapper here outlives the call
/// that uses it.
/// </summary>
public sealed class MomentumSgd : IDisposable
{
    private readonly Parameter[] parameters;
    private readonly long[] offsets;
    private readonly Tensor flatParameters, flatGradients;
    /// <summary>Null until the first step (or a load of saved buffers).</summary>
    private Tensor? flatBuffer;
    private readonly Scalar momentum;
    private readonly Scalar? weightDecay;

    public MomentumSgd(IEnumerable<Parameter> parameters, double momentum, double weightDecay)
    {
        this.parameters = parameters.Where(p => p.requires_grad).ToArray();
        if (this.parameters.Length == 0) throw new ArgumentException("no trainable parameters to optimise", nameof(parameters));
        var first = this.parameters[0];
        if (this.parameters.Any(p => p.dtype != first.dtype || p.device_type != first.device_type || p.device_index != first.device_index))
            throw new ArgumentException("every parameter must have the same dtype and device: " +
                string.Join(", ", this.parameters.Select(p => $"{p.dtype} on {p.device}").Distinct()), nameof(parameters));
        offsets = new long[this.parameters.Length + 1];
        for (int i = 0; i < this.parameters.Length; i++) offsets[i + 1] = offsets[i] + this.parameters[i].numel();
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        flatParameters = empty(offsets[^1], first.dtype, first.device).DetachFromDisposeScope();
        flatGradients = zeros(offsets[^1], first.dtype, first.device).DetachFromDisposeScope();
        for (int i = 0; i < this.parameters.Length; i++)
        {
            // One at a time: each parameter's own storage is released as soon as it has moved.
            var p = this.parameters[i];
            var view = ViewOf(flatParameters, i);
            view.copy_(p);
            p.set_(view);
            p.grad = ViewOf(flatGradients, i);
        }
        this.momentum = momentum.ToScalar();
        this.weightDecay = weightDecay != 0 ? weightDecay.ToScalar() : null;
    }

    /// <summary>Parameter i's part of a flat tensor, in that parameter's shape.</summary>
    private Tensor ViewOf(Tensor flat, int i) =>
        flat.narrow(0, offsets[i], offsets[i + 1] - offsets[i]).view(parameters[i].shape);

    public void ZeroGrad()
    {
        using var noGrad = no_grad();
        flatGradients.zero_();
    }

    public void Step(double learningRate)
    {
        using var noGrad = no_grad();
        using var negativeLr = (-learningRate).ToScalar();
        // In place: the gradients are zeroed before the next step anyway, and no new tensor is made.
        var d = weightDecay is null ? flatGradients : flatGradients.add_(flatParameters, weightDecay);
        if (flatBuffer is null) flatBuffer = d.clone().DetachFromDisposeScope();
        else flatBuffer.mul_(momentum).add_(d, KeptScalars.One);
        flatParameters.add_(flatBuffer, negativeLr);
    }

    /// <summary>
    /// Writes the momentum buffers as one entry per parameter (a flag: none yet, or the buffer), the format
    /// of the per-parameter optimizer that came before, so training states of either load in both.
    /// </summary>
    public void Save(BinaryWriter writer)
    {
        using var scope = NewDisposeScope();
        writer.Write(parameters.Length);
        for (int i = 0; i < parameters.Length; i++)
        {
            writer.Write(flatBuffer is not null);
            if (flatBuffer is not null) ViewOf(flatBuffer, i).Save(writer);
        }
    }

    /// <summary>
    /// Reads what <see cref="Save"/> wrote. A parameter saved without a buffer gets a zero one: its next
    /// update is then m·0 + d = d, the same as the first step's buf = d.
    /// </summary>
    public void Load(BinaryReader reader)
    {
        var count = reader.ReadInt32();
        if (count != parameters.Length)
            throw new InvalidDataException($"optimizer state has {count} momentum buffers, the model has {parameters.Length} parameters");
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var loaded = zeros_like(flatParameters);
        bool any = false;
        for (int i = 0; i < count; i++)
        {
            if (!reader.ReadBoolean()) continue;
            ViewOf(loaded, i).Load(reader);
            any = true;
        }
        flatBuffer?.Dispose();
        flatBuffer = any ? loaded.DetachFromDisposeScope() : null;
    }

    public void Dispose()
    {
        flatBuffer?.Dispose();
        flatParameters.Dispose();
        flatGradients.Dispose();
        momentum.Dispose();
        weightDecay?.Dispose();
    }
}
