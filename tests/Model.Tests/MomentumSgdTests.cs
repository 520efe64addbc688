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
