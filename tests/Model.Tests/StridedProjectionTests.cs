using BitActors.Model.Architecture;
using TorchSharp;
using static TorchSharp.torch;

namespace BitActors.Model.Tests;

/// <summary>
/// The projection shortcut (a strided 1×1 convolution) runs as a strided subsample and a stride-1 convolution,
/// which avoids oneDNN's strided 1×1 backward kernel (SIGFPE on some AVX-512 CPUs): the same function, with the
/// same gradients, as the strided convolution it replaces.
/// </summary>
public class StridedProjectionTests
{
    [Theory]
    [InlineData(16, 2, true)]
    [InlineData(7, 2, true)]   // odd size: the last row and column are kept, as the strided conv keeps them
    [InlineData(9, 3, false)]
    public void OutputsAndGradientsEqualTheStridedConvolution(int size, int stride, bool standardize)
    {
        manual_seed(7);
        // In float64, so that what remains is the function, not float32's summation order.
        using var conv = new StdConv2d("downsample", 64, 128, 1, stride, standardize: standardize);
        conv.to(ScalarType.Float64);
        Assert.Equal(ScalarType.Float64, conv.Weight.dtype);
        Assert.True(conv.IsStridedPointwise);
        using var x = randn([3, 64, size, size], ScalarType.Float64).requires_grad_();
        using var upstream = randn([3, 128, (size - 1) / stride + 1, (size - 1) / stride + 1], ScalarType.Float64);

        using var ours = conv.forward(x);
        ours.backward([upstream]);
        using var oursInput = x.grad!.clone();
        using var oursWeight = conv.Weight.grad!.clone();
        x.grad!.zero_();
        conv.Weight.grad!.zero_();

        using var kernel = standardize ? conv.Standardized() : conv.Weight.mul(1.0);
        using var reference = nn.functional.conv2d(x, kernel, strides: [stride, stride]);
        reference.backward([upstream]);

        Assert.Equal(reference.shape, ours.shape);
        Assert.True(ours.allclose(reference, rtol: 1e-9, atol: 1e-9), $"outputs differ by {(ours - reference).abs().max().item<double>()}");
        Assert.True(oursInput.allclose(x.grad!, rtol: 1e-9, atol: 1e-9), $"input gradients differ by {(oursInput - x.grad!).abs().max().item<double>()}");
        Assert.True(oursWeight.allclose(conv.Weight.grad!, rtol: 1e-9, atol: 1e-9), $"weight gradients differ by {(oursWeight - conv.Weight.grad!).abs().max().item<double>()}");
    }

    [Fact]
    public void OnlyStridedOneByOneConvolutionsTakeTheSubsamplePath()
    {
        using var root = new StdConv2d("root_conv", 3, 8, 7, stride: 2, padding: 3);
        using var conv2 = new StdConv2d("conv2", 8, 8, 3, stride: 2, padding: 1);
        using var unstrided = new StdConv2d("downsample", 8, 16, 1);
        Assert.False(root.IsStridedPointwise);
        Assert.False(conv2.IsStridedPointwise);
        Assert.False(unstrided.IsStridedPointwise);
        // The exported graph still reads the stride off the module: a strided Conv, the same function.
        using var projection = new StdConv2d("downsample", 8, 16, 1, 2);
        Assert.Equal((2L, 0L), (projection.Stride, projection.Padding));
    }
}
