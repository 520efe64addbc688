using BitActors.Actors.Training;
using BitActors.Model.Training;

namespace BitActors.Actors.Tests;

public class EvaluationPartialTests
{
    [Fact]
    public void BatchesSumIntoAccuracyPerClassAndAConfusionMatrix()
    {
        var a = EvaluationPartial.Of(new BatchEvaluation(2, 3, 1.5, [0, 1, 1]), [0, 1, 2], classes: 3);
        var b = EvaluationPartial.Of(new BatchEvaluation(1, 1, 0.5, [2]), [2], classes: 3);
        var result = EvaluationPartial.Empty(3).Add(a).Add(b).ToResult();
        Assert.Equal(4, result.Examples);
        Assert.Equal(0.75, result.Top1);
        Assert.Equal(0.5, result.Loss);
        Assert.Equal(new[] { 1.0, 1.0, 0.5 }, result.PerClassTop1);
        Assert.Equal(new long[] { 0, 1, 1 }, result.Confusion[2]);  // class 2: once taken for 1, once right
    }
}
