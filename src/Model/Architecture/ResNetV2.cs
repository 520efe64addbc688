using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BitActors.Model.Architecture;

/// <summary>
/// BiT's ResNet-v2 (Kolesnikov et al. 2020; google-research/big_transfer bit_pytorch/models.py):
/// root 7x7/2 StdConv → zero pad 1 → 3x3/2 max-pool; four stages of pre-activation bottlenecks;
/// head GN → ReLU → global average pool → 1x1 conv with bias. Module names follow bit_pytorch
/// (root.conv, body.blockN.unitNN, head.gn, head.conv) so checkpoint names map one to one.
/// </summary>
public sealed class ResNetV2 : nn.Module<Tensor, Tensor>
{
    private readonly StdConv2d root;
    private readonly Sequential body;
    private readonly nn.Module<Tensor, Tensor> head_gn;
    private readonly Conv2d head_conv;

    public ResNetV2(ResNetV2Config config, int numClasses, bool zeroHead = false) : base(config.Name)
    {
        Config = config;
        NumClasses = numClasses;
        root = new StdConv2d("root_conv", config.InChannels, config.RootWidth, 7, stride: 2, padding: 3, standardize: config.WeightStandardization);

        var stages = new List<(string, nn.Module<Tensor, Tensor>)>();
        long inChannels = config.RootWidth;
        for (int s = 0; s < config.Units.Length; s++)
        {
            var units = new List<(string, nn.Module<Tensor, Tensor>)>();
            for (int u = 0; u < config.Units[s]; u++)
            {
                long stride = s > 0 && u == 0 ? 2 : 1;
                units.Add(($"unit{u + 1:00}", new PreActBottleneck($"unit{u + 1:00}", config, inChannels, config.OutWidth(s), config.MidWidth(s), stride)));
                inChannels = config.OutWidth(s);
            }
            stages.Add(($"block{s + 1}", nn.Sequential(units)));
        }
        body = nn.Sequential(stages);
        head_gn = Norms.Create(config, config.FeatureWidth);
        head_conv = nn.Conv2d(config.FeatureWidth, numClasses, 1, bias: true);
        RegisterComponents();
        if (zeroHead) ZeroHead();
    }

    public ResNetV2Config Config { get; }

    public int NumClasses { get; }

    /// <summary>Fine-tuning starts from a zero head (BiT section 3.3).</summary>
    public void ZeroHead()
    {
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            head_conv.weight!.zero_();
            head_conv.bias!.zero_();
        }
    }

    /// <summary>Sets every class's head bias (e.g. to a prior's log-odds for sigmoid outputs).</summary>
    public void SetHeadBias(double value)
    {
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            using var v = value.ToScalar();
            head_conv.bias!.fill_(v);
        }
    }

    /// <summary>Pre-logit features: [N, FeatureWidth].</summary>
    public Tensor Features(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = root.forward(x);
        h = nn.functional.pad(h, [1, 1, 1, 1], mode: TorchSharp.PaddingModes.Constant, value: 0);
        h = nn.functional.max_pool2d(h, 3, 2);
        h = body.forward(h);
        h = nn.functional.relu(head_gn.forward(h));
        return h.mean([2, 3], keepdim: true).MoveToOuterDisposeScope();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var features = Features(x);
        return head_conv.forward(features).flatten(1).MoveToOuterDisposeScope();
    }

    /// <summary>Names of the head's parameters: the ones a transfer replaces.</summary>
    public static readonly IList<string> HeadParameterNames = ["head_conv.weight", "head_conv.bias"];
}
