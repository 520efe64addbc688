using BitActors.Model.Training;

namespace BitActors.Model.Tests;

public class EvaluationTallyTests
{
    [Fact]
    public void BatchesSumIntoAccuracyPerClassAndAConfusionMatrix()
    {
        var result = new EvaluationTally(3)
            .Add(2, 3, 1.5, [0, 1, 2], [0, 1, 1])
            .Add(1, 1, 0.5, [2], [2])
            .ToResult();
        Assert.Equal(4, result.Examples);
        Assert.Equal(0.75, result.Top1);
        Assert.Equal(1.0, result.Top5);
        Assert.Equal(0.5, result.Loss);
        Assert.Equal(new[] { 1.0, 1.0, 0.5 }, result.PerClassTop1);
        Assert.NotNull(result.Confusion);
        Assert.Equal(new long[] { 0, 1, 1 }, result.Confusion[2]);  // class 2: once taken for 1, once right
    }

    [Fact]
    public void AboveTheLimitThereIsNoMatrixButPerClassAccuracyStays()
    {
        // 21,843 classes (ImageNet-21k): a dense matrix would be 3.8 GB; the tally holds two arrays of K.
        const int classes = 21_843;
        var tally = new EvaluationTally(classes);
        for (int batch = 0; batch < 100; batch++)
        {
            var labels = Enumerable.Range(batch * 64, 64).Select(i => i % classes).ToArray();
            var predicted = labels.Select((l, i) => (long)(i % 2 == 0 ? l : (l + 1) % classes)).ToArray();
            tally.Add(32, 64, 64.0, labels, predicted);
        }
        var result = tally.ToResult();
        Assert.Null(result.Confusion);
        Assert.Equal(6400, result.Examples);
        Assert.Equal(0.5, result.Top1);
        Assert.Equal(1.0, result.PerClassTop1[0]);     // image 0 of batch 0 is even: right
        Assert.Equal(0.0, result.PerClassTop1[1]);
        Assert.True(double.IsNaN(result.PerClassTop1[classes - 1]));  // never seen
    }

    [Fact]
    public void AClassOutsideTheEvaluationIsNamed()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new EvaluationTally(3).Add(0, 0, 0, [5], [0]));
        Assert.Contains("class 5 is outside the 3 classes", e.Message);
    }
}
