using BitActors.Model.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BitActors.Model.Architecture;

/// <summary>
/// Convolution with weight standardisation (Qiao et al.; BiT section 3.2): each output channel's kernel is
/// normalised to zero mean and unit (biased) variance before it is applied. No bias.
/// </summary>
public sealed class StdConv2d : nn.Module<Tensor, Tensor>
{
    /// <summary>BiT's TensorFlow and PyTorch code use 1e-10 (timm uses 1e-8).</summary>
    public const double Eps = 1e-10;

    private static readonly Scalar EpsScalar = Eps.ToScalar(); // kept alive: see KeptScalars

    private readonly Parameter weight;
    private readonly long stride;
    private readonly long padding;

    public StdConv2d(string name, long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0)
        : base(name)
    {
        weight = new Parameter(empty(outChannels, inChannels, kernelSize, kernelSize));
        nn.init.kaiming_normal_(weight, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.ReLU);
        this.stride = stride;
        this.padding = padding;
        RegisterComponents();
    }

    public Parameter Weight => weight;

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        // The overload with dims returns (variance, mean); without dims it returns the standard deviation.
        var (variance, mean) = var_mean(weight, [1, 2, 3], unbiased: false, keepdim: true);
        var standardized = (weight - mean) / variance.add(EpsScalar, KeptScalars.One).sqrt();
        return nn.functional.conv2d(input, standardized, strides: [stride, stride], padding: [padding, padding])
            .MoveToOuterDisposeScope();
    }
}
