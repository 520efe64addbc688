using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BitActors.Model.Training;

/// <summary>
/// SGD with momentum and optional weight decay, PyTorch's update rule (BiT trains with it, momentum 0.9):
/// d = g + wd·p; buf = d at the first step, then buf = m·buf + d; p -= lr·buf.
/// Written here rather than taken from TorchSharp because its optimizer passes temporary Scalars to
/// native code (see <see cref="KeptScalars"/>); every Scalar and tensor wrapper here outlives the call
/// that uses it.
/// </summary>
public sealed class MomentumSgd : IDisposable
{
    private readonly Parameter[] parameters;
    private readonly Tensor?[] buffers;
    private readonly Scalar momentum;
    private readonly Scalar? weightDecay;

    public MomentumSgd(IEnumerable<Parameter> parameters, double momentum, double weightDecay)
    {
        this.parameters = parameters.Where(p => p.requires_grad).ToArray();
        buffers = new Tensor?[this.parameters.Length];
        this.momentum = momentum.ToScalar();
        this.weightDecay = weightDecay != 0 ? weightDecay.ToScalar() : null;
    }

    public void ZeroGrad()
    {
        // p.grad makes a new wrapper each time; the scope keeps it alive until zero_ has returned.
        using var scope = NewDisposeScope();
        foreach (var p in parameters) p.grad?.zero_();
    }

    public void Step(double learningRate)
    {
        using var noGrad = no_grad();
        using var negativeLr = (-learningRate).ToScalar();
        // Everything made here, the grad wrappers included, is held by one scope until the updates return.
        using var scope = NewDisposeScope();
        for (int i = 0; i < parameters.Length; i++)
        {
            var p = parameters[i];
            var grad = p.grad;
            if (grad is null) continue;
            // In place: the gradient is zeroed before the next step anyway, and no new tensor is made.
            var d = weightDecay is null ? grad : grad.add_(p, weightDecay);
            if (buffers[i] is null) buffers[i] = d.clone().DetachFromDisposeScope();
            else buffers[i]!.mul_(momentum).add_(d, KeptScalars.One);
            p.add_(buffers[i]!, negativeLr);
        }
    }

    /// <summary>Writes the momentum buffers (a flag per parameter: none yet, or the buffer).</summary>
    public void Save(BinaryWriter writer)
    {
        writer.Write(buffers.Length);
        foreach (var b in buffers)
        {
            writer.Write(b is not null);
            b?.Save(writer);
        }
    }

    public void Load(BinaryReader reader)
    {
        var count = reader.ReadInt32();
        if (count != buffers.Length)
            throw new InvalidDataException($"optimizer state has {count} momentum buffers, the model has {buffers.Length} parameters");
        using var noGrad = no_grad();
        for (int i = 0; i < count; i++)
        {
            buffers[i]?.Dispose();
            buffers[i] = null;
            if (!reader.ReadBoolean()) continue;
            var buffer = zeros_like(parameters[i]).DetachFromDisposeScope();
            buffer.Load(reader);
            buffers[i] = buffer;
        }
    }

    public void Dispose()
    {
        foreach (var b in buffers) b?.Dispose();
        momentum.Dispose();
        weightDecay?.Dispose();
    }
}
