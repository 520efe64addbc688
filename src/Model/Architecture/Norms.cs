using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BitActors.Model.Architecture;

internal static class Norms
{
    /// <summary>The configured normalisation over <paramref name="channels"/> channels.</summary>
    public static nn.Module<Tensor, Tensor> Create(ResNetV2Config config, long channels) => config.Norm switch
    {
        NormKind.GroupNorm => GroupNorm(config.Groups, channels),
        NormKind.BatchNorm => BatchNorm(channels),
        _ => throw new ArgumentOutOfRangeException(nameof(config), config.Norm, "unknown normalisation"),
    };

    /// <summary>BiT's GroupNorm (eps 1e-5). TorchSharp 0.107 leaves weight and bias uninitialised: set them.</summary>
    public static GroupNorm GroupNorm(long groups, long channels)
    {
        var norm = nn.GroupNorm(groups, channels, eps: 1e-5);
        ResetAffine(norm.weight!, norm.bias!);
        return norm;
    }

    /// <summary>The ablation's BatchNorm (PyTorch defaults: eps 1e-5, momentum 0.1), weight 1 and bias 0.</summary>
    public static BatchNorm2d BatchNorm(long channels)
    {
        var norm = nn.BatchNorm2d(channels, eps: 1e-5, momentum: 0.1);
        ResetAffine(norm.weight!, norm.bias!);
        return norm;
    }

    private static void ResetAffine(Tensor weight, Tensor bias)
    {
        using var scope = NewDisposeScope(); // keeps the weight/bias wrappers alive through the native calls
        using (no_grad())
        {
            weight.fill_(Training.KeptScalars.One);
            bias.zero_();
        }
    }
}
