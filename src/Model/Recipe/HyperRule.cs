namespace BitActors.Model.Recipe;

/// <summary>
/// BiT-HyperRule (Kolesnikov et al. 2020, section 3.3; google-research/big_transfer bit_hyperrule.py):
/// the fine-tuning hyperparameters chosen from the dataset's size and image resolution alone.
/// </summary>
public static class HyperRule
{
    public const double BaseLr = 0.003;
    public const int BatchSize = 512;
    public const double Momentum = 0.9;
    public const double WeightDecay = 0.0;
    public const double MixUpAlpha = 0.1;

    /// <summary>Resize to <c>Precrop</c>, then random-crop <c>Crop</c>; evaluation resizes straight to <c>Crop</c>.</summary>
    public readonly record struct Resolution(int Precrop, int Crop);

    /// <summary>Images under 96×96 → 160/128; larger → 512/480 (code) or 448/384 (paper).</summary>
    public static Resolution ResolutionFor(int height, int width, bool paperVariant = false) =>
        height * width < 96 * 96 ? new(160, 128) : paperVariant ? new(448, 384) : new(512, 480);

    /// <summary>MixUp α = 0.1 from 20k examples up, none below.</summary>
    public static double MixUp(int datasetSize) => datasetSize < MixUpFromExamples ? 0.0 : MixUpAlpha;

    /// <summary>The dataset size from which the HyperRule uses MixUp.</summary>
    public const int MixUpFromExamples = 20_000;

    /// <summary>
    /// Warmup end, decay boundaries and total steps: 500 / 10k / 20k steps by dataset size. A dataset of no examples has
    /// no schedule (500 steps of nothing would wait forever for a batch): refused.
    /// </summary>
    public static (int Warmup, int[] Decays, int Total) Supports(int datasetSize) =>
        datasetSize <= 0 ? throw new ArgumentOutOfRangeException(nameof(datasetSize), datasetSize, "the HyperRule needs at least one training example")
        : datasetSize < 20_000 ? (100, [200, 300, 400], 500)
        : datasetSize < 500_000 ? (500, [3000, 6000, 9000], 10_000)
        : (500, [6000, 12_000, 18_000], 20_000);

    public static StepSchedule Schedule(int datasetSize, double baseLr = BaseLr)
    {
        var (warmup, decays, total) = Supports(datasetSize);
        return new StepSchedule(baseLr, warmup, decays, total);
    }
}
