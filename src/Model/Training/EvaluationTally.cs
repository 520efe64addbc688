namespace BitActors.Model.Training;

/// <summary>
/// Sums evaluated batches into an <see cref="EvaluationResult"/> in memory that is O(K) for K classes: images and
/// correct top-1 per class, and the K×K confusion matrix (rows: true class, columns: predicted) only while K is at
/// most <c>confusionMaxClasses</c> (by default 100, whose matrix fits a Kafka event: 1,000 classes would take 8 MB here
/// and several MB of JSON; ImageNet-21k's 21,843 would take 3.8 GB). Above
/// that the result has per-class top-1 but no matrix. One tally per evaluation; batches never carry a matrix.
/// </summary>
public sealed class EvaluationTally
{
    public const int DefaultConfusionMaxClasses = 100;

    private readonly long[] _images;
    private readonly long[] _correct;
    private readonly long[][]? _confusion;
    private long _top1, _top5, _examples;
    private double _lossSum;

    public EvaluationTally(int classes, int confusionMaxClasses = DefaultConfusionMaxClasses)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        _images = new long[classes];
        _correct = new long[classes];
        _confusion = classes <= confusionMaxClasses ? Enumerable.Range(0, classes).Select(_ => new long[classes]).ToArray() : null;
    }

    public int Classes => _images.Length;

    /// <summary>One batch: its correct top-1/top-5 counts, loss sum, and per image the true and the predicted class.</summary>
    public EvaluationTally Add(long top1, long top5, double lossSum, IReadOnlyList<int> labels, IReadOnlyList<long> predicted)
    {
        if (labels.Count != predicted.Count)
            throw new ArgumentException($"{labels.Count} labels but {predicted.Count} predictions in one batch");
        for (int i = 0; i < labels.Count; i++)
        {
            int truth = labels[i], guess = (int)predicted[i];
            if ((uint)truth >= (uint)Classes || (uint)guess >= (uint)Classes)
                throw new ArgumentOutOfRangeException(nameof(labels), $"class {((uint)truth >= (uint)Classes ? truth : guess)} is outside the {Classes} classes evaluated");
            _images[truth]++;
            if (truth == guess) _correct[truth]++;
            if (_confusion is not null) _confusion[truth][guess]++;
        }
        (_top1, _top5, _lossSum, _examples) = (_top1 + top1, _top5 + top5, _lossSum + lossSum, _examples + labels.Count);
        return this;
    }

    /// <summary>How many examples were added.</summary>
    public long Examples => _examples;

    public EvaluationResult ToResult() => _examples == 0
        ? throw new InvalidOperationException("evaluation saw no examples")
        : new(_top1 / (double)_examples, _top5 / (double)_examples, _lossSum / _examples, (int)_examples,
            _images.Select((n, c) => n == 0 ? double.NaN : _correct[c] / (double)n).ToArray(), _confusion);
}
