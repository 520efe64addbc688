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
    /// The same schedule squeezed into <paramref name="totalSteps"/>: warmup and every boundary keep their
    /// share of the run (BiT's 10k-step rule at 3k/6k/9k becomes 300/600/900 of 1,000). Used when a run
    /// cannot afford the rule's length; a schedule already that short is returned unchanged.
    /// </summary>
    public StepSchedule ScaledTo(int totalSteps)
    {
        if (totalSteps <= 0) throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, "steps must be positive");
        if (totalSteps >= TotalSteps) return this;
        int Scale(int step) => (int)Math.Round(step * (double)totalSteps / TotalSteps);
        return new StepSchedule(BaseLr, Math.Max(1, Scale(WarmupSteps)), DecayBoundaries.Select(Scale).ToArray(), totalSteps);
    }

    /// <summary>Decay epochs of BiT-S and BiT-M: ÷10 at 30, 60 and 80 of 90 epochs (section 3.1).</summary>
    public static readonly (int[] At, int Of) BitSM = ([30, 60, 80], 90);

    /// <summary>Decay epochs of BiT-L: ÷10 at 10, 23, 30 and 37 of 40 epochs.</summary>
    public static readonly (int[] At, int Of) BitL = ([10, 23, 30, 37], 40);

    /// <summary>
    /// BiT upstream: lr = <paramref name="baseLrAt256"/> × batch/256 (0.03 in the paper), linear warmup,
    /// ÷10 at the decay epochs. A run of <paramref name="totalSteps"/> steps keeps the epochs' fractions
    /// (e.g. 30/90 of the steps) and spends <paramref name="warmupFraction"/> of them in warmup (BiT: 5000
    /// steps at batch 4096, a small share of 90 epochs; short runs keep the share, not the count).
    /// </summary>
    /// <param name="warmupSteps">A warmup of this many steps instead of a share (BiT: 5000), ending at the first decay at the latest.</param>
    public static StepSchedule Upstream(int batchSize, int totalSteps, double warmupFraction = 0.05, double baseLrAt256 = 0.03,
        IReadOnlyList<int>? decayEpochs = null, int? totalEpochs = null, int? warmupSteps = null)
    {
        if (totalSteps <= 0) throw new ArgumentOutOfRangeException(nameof(totalSteps));
        var at = decayEpochs ?? BitSM.At;
        var of = totalEpochs ?? BitSM.Of;
        if (at.Any(e => e <= 0 || e >= of)) throw new ArgumentException($"decay epochs [{string.Join(", ", at)}] must lie inside 1..{of - 1}");
        int Step(int epoch) => (int)Math.Round(totalSteps * epoch / (double)of);
        var boundaries = at.Select(Step).ToArray();
        int warmup = warmupSteps is int fixedSteps ? Math.Min(fixedSteps, boundaries.Min()) : (int)(totalSteps * warmupFraction);
        return new StepSchedule(baseLrAt256 * batchSize / 256.0, Math.Max(1, warmup), boundaries, totalSteps);
    }
}
