using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BitActors.Model.Architecture;

internal static class Norms
{
    /// <summary>BiT's GroupNorm (eps 1e-5). TorchSharp 0.107 leaves weight and bias uninitialised: set them.</summary>
    public static GroupNorm GroupNorm(long groups, long channels)
    {
        var norm = nn.GroupNorm(groups, channels, eps: 1e-5);
        using var scope = NewDisposeScope(); // keeps the weight/bias wrappers alive through the native calls
        using (no_grad())
        {
            norm.weight!.fill_(Training.KeptScalars.One);
            norm.bias!.zero_();
        }
        return norm;
    }
}
