namespace BitActors.Streams.Datasets;

/// <summary>
/// A fixed part of a training split, chosen record by record from its index: the validation hold-out (BiT holds out
/// 2 % of each training split to choose settings on, <c>train[:98%]</c> / <c>train[98%:]</c>), or the rest, of which a
/// share (<c>Fraction</c>) may be kept. The choice is a hash of the index, not its position: folders sorted by class are
/// published class after class, so the last 2 % would be one class. Every index gets one number u in [0, 1) from the
/// hash; u &lt; <c>ValidationFraction</c> is validation, the rest is training, and a <c>Fraction</c> f of it keeps the u
/// below <c>ValidationFraction + f (1 - ValidationFraction)</c>: smaller shares are subsets of larger ones, and every share
/// stays clear of validation. Runs, tasks and machines see the same parts of the same split.
/// </summary>
public sealed record SplitPart
{
    public double ValidationFraction { get; }
    public bool Validation { get; }
    public double Fraction { get; }

    private SplitPart(double validationFraction, bool validation, double fraction)
    {
        if (validationFraction is < 0 or >= 1 || double.IsNaN(validationFraction))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "the validation fraction must be in [0, 1)");
        if (fraction is <= 0 or > 1 || double.IsNaN(fraction))
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "the share of the training part must be in (0, 1]");
        (ValidationFraction, Validation, Fraction) = (validationFraction, validation, fraction);
    }

    /// <summary>The records trained on: all but the validation hold-out, of which <paramref name="fraction"/>. Null when that is every record.</summary>
    public static SplitPart? Training(double validationFraction, double fraction = 1.0) =>
        validationFraction == 0 && fraction >= 1 ? null : new SplitPart(validationFraction, false, fraction);

    /// <summary>The validation hold-out; null when there is none (<paramref name="validationFraction"/> = 0).</summary>
    public static SplitPart? HeldOut(double validationFraction) =>
        validationFraction == 0 ? null : new SplitPart(validationFraction, true, 1.0);

    /// <summary>Whether the record at <paramref name="index"/> of the split belongs to this part.</summary>
    public bool Contains(long index)
    {
        double u = Unit(index);
        if (Validation) return u < ValidationFraction;
        return u >= ValidationFraction && (Fraction >= 1 || u < ValidationFraction + Fraction * (1 - ValidationFraction));
    }

    /// <summary>About how many of <paramref name="records"/> fall in this part (the hash splits them in these shares).</summary>
    public long Expected(long records) =>
        (long)Math.Round(records * (Validation ? ValidationFraction : Fraction * (1 - ValidationFraction)));

    public override string ToString() => Validation
        ? $"the {ValidationFraction:P0} validation hold-out"
        : $"{(Fraction < 1 ? $"{Fraction:P0} of " : "")}the training part ({ValidationFraction:P0} held out for validation)";

    /// <summary>The index's place in [0, 1): SplitMix64's finaliser of the index, top 53 bits.</summary>
    public static double Unit(long index)
    {
        ulong z = unchecked((ulong)index + 0x9E3779B97F4A7C15UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 11) * (1.0 / (1UL << 53));
    }
}
