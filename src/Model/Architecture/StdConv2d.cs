using BitActors.Model.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BitActors.Model.Architecture;

/// <summary>
/// Convolution with weight standardisation (Qiao et al.; BiT section 3.2): each output channel's kernel is
/// normalised to zero mean and unit (biased) variance before it is applied. No bias. With
/// <c>standardize: false</c> it is a plain bias-free convolution (the paper's ablation, Tables 4/5).
/// </summary>
public sealed class StdConv2d : nn.Module<Tensor, Tensor>
{
    /// <summary>BiT's TensorFlow and PyTorch code use 1e-10 (timm uses 1e-8).</summary>
    public const double Eps = 1e-10;

    private readonly Parameter weight;
    private readonly long stride;
    private readonly long padding;

    public StdConv2d(string name, long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0, bool standardize = true)
        : base(name)
    {
        Standardize = standardize;
        weight = new Parameter(empty(outChannels, inChannels, kernelSize, kernelSize));
        nn.init.kaiming_normal_(weight, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.ReLU);
        this.stride = stride;
        this.padding = padding;
        RegisterComponents();
    }

    public Parameter Weight => weight;

    public long Stride => stride;

    public long Padding => padding;

    /// <summary>False: the kernel is used as it is (plain convolution).</summary>
    public bool Standardize { get; }

    /// <summary>True for a strided 1×1 convolution without padding (the projection shortcut).</summary>
    public bool IsStridedPointwise => weight.shape[2] == 1 && weight.shape[3] == 1 && stride > 1 && padding == 0;

    /// <remarks>
    /// A strided 1×1 convolution runs as a strided subsample (x[:, :, ::s, ::s]) followed by a stride-1 1×1
    /// convolution: the same function, and the backward pass avoids libtorch-cpu 2.10's oneDNN kernel for
    /// strided 1×1 convolutions, which dies with SIGFPE on some AVX-512 CPUs (DESIGN.md, platform facts).
    /// </remarks>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var kernel = Standardize ? Standardized() : weight;
        if (IsStridedPointwise)
        {
            var sampled = input.slice(2, 0, input.shape[2], stride).slice(3, 0, input.shape[3], stride);
            return nn.functional.conv2d(sampled, kernel).MoveToOuterDisposeScope();
        }
        return nn.functional.conv2d(input, kernel, strides: [stride, stride], padding: [padding, padding])
            .MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The standardised kernel, (w − mean) / sqrt(var + eps) per output channel with the biased variance,
    /// computed as one batch-norm over the kernel viewed as [1, out, in·k·k] (timm's trick): one fused
    /// kernel instead of five element-wise ones, which matters on a GPU at small batches.
    /// </summary>
    public Tensor Standardized()
    {
        using var scope = NewDisposeScope();
        var flat = weight.reshape(1, weight.shape[0], -1);
        return nn.functional.batch_norm(flat, null, null, training: true, momentum: 0.0, eps: Eps)
            .reshape(weight.shape).MoveToOuterDisposeScope();
    }
}
