using BitActors.Model.Architecture;
using BitActors.Model.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace BitActors.Model.Tests;

public class MomentumSgdTests
{
    [Theory]
    [InlineData(0.0)]
    [InlineData(1e-4)]
    public void FollowsTheSameUpdatesAsTorchSharpsSgd(double weightDecay)
    {
        manual_seed(3);
        using var ours = nn.Linear(4, 3);
        using var reference = nn.Linear(4, 3);
        reference.load_state_dict(ours.state_dict());
        using var sgd = new MomentumSgd(ours.parameters(), 0.9, weightDecay);
        using var referenceSgd = optim.SGD(reference.parameters(), 0.1, momentum: 0.9, weight_decay: weightDecay);
        using var x = randn(8, 4);
        foreach (var lr in new[] { 0.1, 0.1, 0.05, 0.01 })
        {
            foreach (var g in referenceSgd.ParamGroups) g.LearningRate = lr;
            sgd.ZeroGrad();
            ours.forward(x).pow(2).sum().backward();
            sgd.Step(lr);
            referenceSgd.zero_grad();
            reference.forward(x).pow(2).sum().backward();
            referenceSgd.step();
        }
        Assert.True(ours.weight!.allclose(reference.weight!, rtol: 1e-5, atol: 1e-6));
        Assert.True(ours.bias!.allclose(reference.bias!, rtol: 1e-5, atol: 1e-6));
    }
}

/// <summary>
/// The flat optimizer (every parameter, gradient and momentum buffer a view into one tensor each) against the
/// per-tensor update it replaced, kept here as the reference: the same parameters after 20 steps of a ResNet-v2
/// with weight decay and micro-batches, and training states that load across the two.
/// </summary>
public class FlatMomentumSgdTests
{
    /// <summary>The per-parameter SGD that came before (one update of three operations per tensor), and its state format.</summary>
    private sealed class PerTensorSgd(IEnumerable<TorchSharp.Modules.Parameter> parameters, double momentum, double weightDecay)
    {
        private readonly TorchSharp.Modules.Parameter[] parameters = parameters.Where(p => p.requires_grad).ToArray();
        private Tensor?[] buffers = [];

        public void ZeroGrad()
        {
            foreach (var p in parameters) p.grad?.zero_();
        }

        public void Step(double lr)
        {
            using var noGrad = no_grad();
            if (buffers.Length == 0) buffers = new Tensor?[parameters.Length];
            for (int i = 0; i < parameters.Length; i++)
            {
                var p = parameters[i];
                var grad = p.grad;
                if (grad is null) continue;
                var d = weightDecay == 0 ? grad : grad.add_(p, weightDecay);
                if (buffers[i] is null) buffers[i] = d.clone().DetachFromDisposeScope();
                else buffers[i]!.mul_(momentum).add_(d);
                p.add_(buffers[i]!, -lr);
            }
        }

        public void Save(BinaryWriter writer)
        {
            writer.Write(parameters.Length);
            for (int i = 0; i < parameters.Length; i++)
            {
                var b = i < buffers.Length ? buffers[i] : null;
                writer.Write(b is not null);
                b?.Save(writer);
            }
        }
    }

    private static (Tensor Images, Tensor Labels) Batch(int seed)
    {
        using var generator = new Generator((ulong)seed);
        return (randn([8, 1, 16, 16], generator: generator), randint(0, 3, [8], generator: generator));
    }

    private static void Train(ResNetV2 model, Action zeroGrad, Action<double> step, int steps, int first = 0)
    {
        for (int s = first; s < first + steps; s++)
        {
            using var scope = NewDisposeScope();
            var (images, labels) = Batch(s);
            zeroGrad();
            // Two micro-batches: gradients accumulate into the flat buffer across backward passes.
            for (int half = 0; half < 2; half++)
                nn.functional.cross_entropy(model.forward(images.narrow(0, 4 * half, 4)), labels.narrow(0, 4 * half, 4)).mul(0.5).backward();
            step(0.05 * (1 + s % 3));
        }
    }

    private static void AssertSameParameters(ResNetV2 expected, ResNetV2 actual)
    {
        var (e, a) = (expected.named_parameters().ToArray(), actual.named_parameters().ToArray());
        Assert.Equal(e.Length, a.Length);
        for (int i = 0; i < e.Length; i++)
        {
            var difference = (e[i].parameter - a[i].parameter).abs().max().item<float>();
            Assert.True(difference <= 1e-6, $"{e[i].name}: differs by {difference}");
        }
    }

    private static (ResNetV2 Reference, ResNetV2 Flat) TwoEqualModels()
    {
        manual_seed(11);
        var reference = new ResNetV2(KnownModels.Get("Tiny", 1), 3);
        var flat = new ResNetV2(KnownModels.Get("Tiny", 1), 3);
        flat.load_state_dict(reference.state_dict());
        return (reference, flat);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1e-4)]
    public void TwentyStepsEqualThePerTensorUpdate(double weightDecay)
    {
        var (referenceModel, flatModel) = TwoEqualModels();
        using var _ = referenceModel;
        using var __ = flatModel;
        var reference = new PerTensorSgd(referenceModel.parameters(), 0.9, weightDecay);
        using var flat = new MomentumSgd(flatModel.parameters(), 0.9, weightDecay);
        Train(referenceModel, reference.ZeroGrad, reference.Step, 20);
        Train(flatModel, flat.ZeroGrad, flat.Step, 20);
        AssertSameParameters(referenceModel, flatModel);
        // Every parameter is a view of one tensor, one after the other, and its gradient likewise.
        long offset = 0;
        foreach (var p in flatModel.parameters())
        {
            Assert.Equal((offset, offset), (p.storage_offset(), p.grad!.storage_offset()));
            offset += p.numel();
        }
    }

    [Fact]
    public void APerTensorTrainingStateLoadsAndTrainingGoesOnTheSame()
    {
        var (referenceModel, flatModel) = TwoEqualModels();
        using var _ = referenceModel;
        using var __ = flatModel;
        var reference = new PerTensorSgd(referenceModel.parameters(), 0.9, 1e-4);
        Train(referenceModel, reference.ZeroGrad, reference.Step, 5);
        using var state = new MemoryStream();
        reference.Save(new BinaryWriter(state));
        flatModel.load_state_dict(referenceModel.state_dict());

        using var flat = new MomentumSgd(flatModel.parameters(), 0.9, 1e-4);
        state.Position = 0;
        flat.Load(new BinaryReader(state));
        Train(referenceModel, reference.ZeroGrad, reference.Step, 5, first: 5);
        Train(flatModel, flat.ZeroGrad, flat.Step, 5, first: 5);
        AssertSameParameters(referenceModel, flatModel);

        // And back: the flat optimizer writes the same format, which a fresh one reads.
        using var saved = new MemoryStream();
        flat.Save(new BinaryWriter(saved));
        using var copyModel = new ResNetV2(KnownModels.Get("Tiny", 1), 3);
        copyModel.load_state_dict(flatModel.state_dict());
        using var copy = new MomentumSgd(copyModel.parameters(), 0.9, 1e-4);
        saved.Position = 0;
        copy.Load(new BinaryReader(saved));
        Train(flatModel, flat.ZeroGrad, flat.Step, 3, first: 10);
        Train(copyModel, copy.ZeroGrad, copy.Step, 3, first: 10);
        AssertSameParameters(flatModel, copyModel);
    }

    [Fact]
    public void AStateWithoutBuffersLoadsAsTheFirstStep()
    {
        var (referenceModel, flatModel) = TwoEqualModels();
        using var _ = referenceModel;
        using var __ = flatModel;
        var reference = new PerTensorSgd(referenceModel.parameters(), 0.9, 0.0);
        using var state = new MemoryStream();
        reference.Save(new BinaryWriter(state)); // before any step: a "none yet" flag per parameter
        using var flat = new MomentumSgd(flatModel.parameters(), 0.9, 0.0);
        state.Position = 0;
        flat.Load(new BinaryReader(state));
        Train(referenceModel, reference.ZeroGrad, reference.Step, 3);
        Train(flatModel, flat.ZeroGrad, flat.Step, 3);
        AssertSameParameters(referenceModel, flatModel);
    }

    [Fact]
    public void AStateOfAnotherModelIsRefusedByCount()
    {
        using var small = nn.Linear(2, 2);
        using var sgd = new MomentumSgd(small.parameters(), 0.9, 0.0);
        using var state = new MemoryStream();
        var writer = new BinaryWriter(state);
        writer.Write(5);
        state.Position = 0;
        var e = Assert.Throws<InvalidDataException>(() => sgd.Load(new BinaryReader(state)));
        Assert.Contains("5 momentum buffers", e.Message);
    }
}
