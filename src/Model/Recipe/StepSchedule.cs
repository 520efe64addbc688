namespace BitActors.Model.Recipe;

/// <summary>
/// Linear warmup to the base learning rate, then ÷10 after each boundary, ending at <see cref="TotalSteps"/>
/// (the shape of both BiT's upstream schedule and the HyperRule's fine-tune schedule). Exactly
/// bit_hyperrule.get_lr: lr = base·step/warmup while step &lt; warmup; none from the last support on;
/// otherwise base ÷ 10 for every boundary strictly below the step.
/// </summary>
public sealed record StepSchedule(double BaseLr, int WarmupSteps, IReadOnlyList<int> DecayBoundaries, int TotalSteps)
{
    /// <summary>Learning rate for <paramref name="step"/> (0-based); null once the schedule is finished.</summary>
    public double? LearningRate(int step)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "step must be non-negative");
        if (step >= TotalSteps) return null;
        if (step < WarmupSteps) return BaseLr * step / WarmupSteps;
        var lr = BaseLr;
        foreach (var boundary in DecayBoundaries)
            if (boundary < step) lr /= 10;
        return lr;
    }

    /// <summary>Index of the phase <paramref name="step"/> is in: 0 = warmup, 1 = base rate, 2.. = after each decay.</summary>
    public int Phase(int step) => step < WarmupSteps ? 0 : 1 + DecayBoundaries.Count(b => b < step);

    /// <summary>
    /// BiT upstream (section 3.1): lr 0.03 × batch/256, warmup 5000 steps at batch 4096, ÷10 at epochs
    /// 30, 60 and 80 of 90 (BiT-S/M). Scaled to a run of <paramref name="totalSteps"/> steps by keeping
    /// the epoch fractions and the warmup's share (5000 of 90 epochs of ImageNet-21k at batch 4096 is small;
    /// a short run keeps warmup at <paramref name="warmupFraction"/> of the run).
    /// </summary>
    public static StepSchedule Upstream(int batchSize, int totalSteps, double warmupFraction = 0.05, double baseLrAt256 = 0.03)
    {
        if (totalSteps <= 0) throw new ArgumentOutOfRangeException(nameof(totalSteps));
        int At(double epochs) => (int)Math.Round(totalSteps * epochs / 90.0);
        return new StepSchedule(baseLrAt256 * batchSize / 256.0, Math.Max(1, (int)(totalSteps * warmupFraction)),
            [At(30), At(60), At(80)], totalSteps);
    }
}
