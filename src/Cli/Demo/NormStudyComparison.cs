using System.Globalization;

namespace BitActors.Cli.Demo;

/// <summary>
/// The paper's normalisation ablation and what of it this study reproduces. <see cref="Paper"/> holds BiT's
/// numbers (Kolesnikov et al. 2020, "Big Transfer (BiT): General Visual Representation Learning", arXiv 1912.11370v3,
/// https://arxiv.org/abs/1912.11370v3): Table 4, top-1 of ResNet-50 trained from scratch on ILSVRC-2012 at batch 4096,
/// and Table 5, the same models fine-tuned to the 19 VTAB-1k tasks (mean top-1). <see cref="Pairs"/> are the contrasts the
/// paper draws; <see cref="Compare"/> judges each from the per-seed values, paired by seed (<see cref="PairedDifference"/>).
/// </summary>
public static class NormStudyComparison
{
    public const string PaperSource = "BiT paper (Kolesnikov et al. 2020, arXiv 1912.11370v3): Table 4 (ResNet-50 upstream on ILSVRC-2012, batch 4096, top-1) " +
        "and Table 5 (the same models transferred to VTAB-1k, mean of 19 tasks)";

    /// <summary>Per variant label: Table 4's upstream top-1 and Table 5's VTAB-1k mean, in percent.</summary>
    public static readonly IReadOnlyDictionary<string, (double Upstream, double Transfer)> Paper = new Dictionary<string, (double, double)>
    {
        // Table 4 rows Batch Norm / Group Norm, columns Plain Conv / Weight Std.; Table 5 the same cells.
        ["GN+WS"] = (76.0, 70.39),
        ["GN"] = (70.2, 68.77),
        ["BN+WS"] = (75.8, 66.78),
        ["BN"] = (75.6, 67.72),
    };

    /// <summary>The pairs the paper contrasts (first − second): WS with GN, GN against BN with WS, WS with BN, GN against BN plain.</summary>
    public static readonly IReadOnlyList<(string First, string Second)> Pairs = [("GN+WS", "GN"), ("GN+WS", "BN+WS"), ("BN+WS", "BN"), ("GN", "BN")];

    public enum Verdict { Reproduces, Reversed, NoClearDifference, NoInterval }

    /// <summary>
    /// One contrast at one stage (upstream, or a transfer group): the paper's difference in points, and here the paired
    /// per-seed difference (points of top-1) with its 95 % interval.
    /// </summary>
    public sealed record Ordering(string Stage, string First, string Second, double PaperPoints, PairedDifference? Here)
    {
        /// <summary>
        /// Reproduces: the interval excludes zero on the paper's side; reversed: it excludes zero on the other side;
        /// no clear difference: it holds zero; no interval: fewer than two seeds have both variants.
        /// </summary>
        public Verdict Verdict => Here?.Interval95 switch
        {
            null => Verdict.NoInterval,
            var (low, _) when low > 0 => PaperPoints > 0 ? Verdict.Reproduces : Verdict.Reversed,
            var (_, high) when high < 0 => PaperPoints < 0 ? Verdict.Reproduces : Verdict.Reversed,
            _ => Verdict.NoClearDifference,
        };

        /// <summary>The paper's ordering, e.g. "GN+WS > GN upstream".</summary>
        public string Claim => $"{(PaperPoints >= 0 ? $"{First} > {Second}" : $"{Second} > {First}")} {Stage}";

        public string VerdictText => Text(Verdict);
    }

    public static string Text(Verdict verdict) => verdict switch
    {
        Verdict.Reproduces => "reproduces",
        Verdict.Reversed => "reversed",
        Verdict.NoClearDifference => "no clear difference",
        _ => "one seed, no interval",
    };

    /// <summary>
    /// Every contrast at every stage: upstream (Table 4) from <paramref name="upstream"/>, and each transfer group
    /// (Table 5) from <paramref name="transfer"/>; per variant label, per-seed top-1 as fractions.
    /// </summary>
    public static IReadOnlyList<Ordering> Compare(IReadOnlyDictionary<string, IReadOnlyList<(int Seed, double Top1)>> upstream,
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, IReadOnlyList<(int Seed, double Top1)>>> transfer)
    {
        var orderings = new List<Ordering>();
        foreach (var (first, second) in Pairs)
            orderings.Add(Of("upstream", first, second, Paper[first].Upstream - Paper[second].Upstream, upstream));
        foreach (var group in transfer.Keys)
            foreach (var (first, second) in Pairs)
                orderings.Add(Of($"transfer ({group})", first, second, Paper[first].Transfer - Paper[second].Transfer, transfer[group]));
        return orderings;
    }

    private static Ordering Of(string stage, string first, string second, double paperPoints, IReadOnlyDictionary<string, IReadOnlyList<(int Seed, double Top1)>> values) =>
        new(stage, first, second, paperPoints,
            values.TryGetValue(first, out var a) && values.TryGetValue(second, out var b) ? PairedDifference.Of(a, b) : null);

    /// <summary>The one sentence of what reproduces and what does not, built from <paramref name="orderings"/> alone.</summary>
    public static string Sentence(IReadOnlyList<Ordering> orderings)
    {
        string List(Verdict v) => string.Join("; ", orderings.Where(o => o.Verdict == v).Select(o =>
            $"{o.Claim} ({o.First} − {o.Second}: here {PairedDifference.Points(o.Here!.Mean)} points, 95 % interval {o.Here.IntervalText}, paper {PairedDifference.Points(o.PaperPoints)})"));
        int seeds = orderings.Select(o => o.Here?.Count ?? 0).DefaultIfEmpty(0).Max();
        if (orderings.All(o => o.Verdict == Verdict.NoInterval))
            return $"With {seeds} seed{(seeds == 1 ? "" : "s")} per variant there is no interval, so none of the paper's {orderings.Count} orderings can be judged.";
        var parts = new List<string>();
        foreach (var v in new[] { Verdict.Reproduces, Verdict.Reversed, Verdict.NoClearDifference, Verdict.NoInterval })
        {
            int n = orderings.Count(o => o.Verdict == v);
            if (n == 0) continue;
            parts.Add(v == Verdict.NoInterval
                ? $"{n} cannot be judged (fewer than two seeds with both variants: {string.Join("; ", orderings.Where(o => o.Verdict == v).Select(o => o.Claim))})"
                : $"{n} {(v == Verdict.NoClearDifference ? "show no clear difference" : v == Verdict.Reproduces ? (n == 1 ? "reproduces" : "reproduce") : (n == 1 ? "is reversed" : "are reversed"))}: {List(v)}");
        }
        var joined = parts.Count == 1 ? parts[0] : $"{string.Join("; ", parts.Take(parts.Count - 1))}; and {parts[^1]}";
        return $"Of the paper's {orderings.Count} orderings, judged from {seeds} seeds paired by seed, {joined}.";
    }

    public static string Percent(double points) => points.ToString("F2", CultureInfo.InvariantCulture);
}
