using System.Globalization;
using MathNet.Numerics.Distributions;

namespace BitActors.Cli.Demo;

/// <summary>
/// Transfer − scratch in points of top-1, paired by seed (the same draw of examples and the same seed in both arms), with
/// a 95 % Student-t interval for the mean difference. With one pair there is no interval.
/// </summary>
public sealed record PairedDifference(IReadOnlyList<(int Seed, double Points)> PerSeed)
{
    public int Count => PerSeed.Count;

    public double Mean => PerSeed.Average(p => p.Points);

    public double Median => Actors.SeedSummary.Median(PerSeed.Select(p => p.Points));

    /// <summary>The sample standard deviation (n − 1); 0 for one pair.</summary>
    public double StandardDeviation => Count < 2 ? 0 : Math.Sqrt(PerSeed.Sum(p => (p.Points - Mean) * (p.Points - Mean)) / (Count - 1));

    /// <summary>The 95 % interval of the mean difference: mean ± t(0.975, n − 1) · sd / √n; null for one pair.</summary>
    public (double Low, double High)? Interval95
    {
        get
        {
            if (Count < 2) return null;
            var half = StudentT.InvCDF(0, 1, Count - 1, 0.975) * StandardDeviation / Math.Sqrt(Count);
            return (Mean - half, Mean + half);
        }
    }

    /// <summary>What the interval supports: transfer ahead, scratch ahead, no clear difference, or no interval (one seed).</summary>
    public string Verdict => Interval95 switch
    {
        null => "one seed, no interval",
        var (low, _) when low > 0 => "transfer ahead",
        var (_, high) when high < 0 => "scratch ahead",
        _ => "no clear difference",
    };

    public string IntervalText => Interval95 is var (low, high) ? $"[{Points(low)}, {Points(high)}]" : "-";

    public static string Points(double v) => v.ToString("+0.00;-0.00", CultureInfo.InvariantCulture);

    /// <summary>The pairs of two arms' per-seed top-1 (fractions), by seed; seeds in only one arm are left out.</summary>
    public static PairedDifference? Of(IEnumerable<(int Seed, double Top1)> transfer, IEnumerable<(int Seed, double Top1)> scratch)
    {
        var bySeed = scratch.ToDictionary(s => s.Seed, s => s.Top1);
        var pairs = transfer.Where(t => bySeed.ContainsKey(t.Seed)).OrderBy(t => t.Seed).Select(t => (t.Seed, (t.Top1 - bySeed[t.Seed]) * 100)).ToList();
        return pairs.Count == 0 ? null : new PairedDifference(pairs);
    }
}
