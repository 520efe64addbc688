using BitActors.Model.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BitActors.Model.Architecture;

/// <summary>
/// Pre-activation bottleneck (He et al. 2016, ResNet-v2) as BiT uses it: GN → ReLU → conv, three times;
/// the stride sits on the 3x3 conv; the projection shortcut is applied to the pre-activated input.
/// The norm (GN or BN) and the convolutions (standardised or plain) follow the config's ablation switches.
/// </summary>
public sealed class PreActBottleneck : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> gn1, gn2, gn3;
    private readonly StdConv2d conv1, conv2, conv3;
    private readonly StdConv2d? downsample;

    public PreActBottleneck(string name, ResNetV2Config config, long inChannels, long outChannels, long midChannels, long stride)
        : base(name)
    {
        var ws = config.WeightStandardization;
        gn1 = Norms.Create(config, inChannels);
        conv1 = new StdConv2d("conv1", inChannels, midChannels, 1, standardize: ws);
        gn2 = Norms.Create(config, midChannels);
        conv2 = new StdConv2d("conv2", midChannels, midChannels, 3, stride, padding: 1, standardize: ws);
        gn3 = Norms.Create(config, midChannels);
        conv3 = new StdConv2d("conv3", midChannels, outChannels, 1, standardize: ws);
        if (stride != 1 || inChannels != outChannels)
            downsample = new StdConv2d("downsample", inChannels, outChannels, 1, stride, standardize: ws);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var preact = nn.functional.relu(gn1.forward(x));
        var residual = downsample is null ? x : downsample.forward(preact);
        var h = conv1.forward(preact);
        h = conv2.forward(nn.functional.relu(gn2.forward(h)));
        h = conv3.forward(nn.functional.relu(gn3.forward(h)));
        return h.add(residual, KeptScalars.One).MoveToOuterDisposeScope();
    }
}
