using System.Diagnostics;

namespace BitActors.Cli.Soak;

/// <summary>One memory reading of this process: resident set size and live managed heap, in MB.</summary>
public sealed record MemorySample(double Minutes, double RssMb, double ManagedHeapMb)
{
    public static MemorySample Now(TimeSpan elapsed)
    {
        // The live managed heap: what a full collection leaves (without it, the sawtooth of garbage since the
        // last GC hides a slow leak). One full GC per sample, every few seconds, is the price.
        var heap = GC.GetTotalMemory(forceFullCollection: true);
        using var process = Process.GetCurrentProcess();
        return new MemorySample(elapsed.TotalMinutes, process.WorkingSet64 / 1048576.0, heap / 1048576.0);
    }
}

/// <summary>
/// Whether memory grows over a long run: the least-squares slope (MB per minute) of the samples taken after a
/// warm-up (caches, arenas and buffers fill in the first minutes), compared with a threshold.
/// </summary>
public static class MemoryTrend
{
    /// <summary>Least-squares slope of y over x; 0 for fewer than two distinct x.</summary>
    public static double Slope(IReadOnlyList<(double X, double Y)> points)
    {
        if (points.Count < 2) return 0;
        double mx = points.Average(p => p.X), my = points.Average(p => p.Y);
        double sxx = points.Sum(p => (p.X - mx) * (p.X - mx)), sxy = points.Sum(p => (p.X - mx) * (p.Y - my));
        return sxx == 0 ? 0 : sxy / sxx;
    }

    /// <summary>The samples after the warm-up (the first <paramref name="warmupFraction"/> of the run), at least two when there are.</summary>
    public static IReadOnlyList<MemorySample> AfterWarmup(IReadOnlyList<MemorySample> samples, double warmupFraction)
    {
        if (samples.Count == 0) return samples;
        var from = samples[^1].Minutes * warmupFraction;
        var kept = samples.Where(s => s.Minutes >= from).ToList();
        return kept.Count >= 2 ? kept : samples.TakeLast(Math.Min(2, samples.Count)).ToList();
    }

    /// <summary>Standard error of the least-squares slope (how far noise alone moves it); 0 for fewer than three points.</summary>
    public static double SlopeStandardError(IReadOnlyList<(double X, double Y)> points)
    {
        if (points.Count < 3) return 0;
        double mx = points.Average(p => p.X), my = points.Average(p => p.Y);
        double sxx = points.Sum(p => (p.X - mx) * (p.X - mx));
        if (sxx == 0) return 0;
        double slope = Slope(points), intercept = my - slope * mx;
        double residuals = points.Sum(p => Math.Pow(p.Y - (intercept + slope * p.X), 2));
        return Math.Sqrt(residuals / (points.Count - 2) / sxx);
    }

    /// <summary>
    /// Flat: the slope exceeds the threshold by no more than twice its standard error, i.e. the samples do not
    /// show growth beyond the threshold (a short run on a busy machine cannot tell a small slope from noise).
    /// </summary>
    public static bool IsFlat(double slope, double standardError, double maxSlope) => slope <= maxSlope + 2 * standardError;

    public static IReadOnlyList<(double X, double Y)> Rss(IReadOnlyList<MemorySample> samples) => samples.Select(s => (s.Minutes, s.RssMb)).ToList();

    public static IReadOnlyList<(double X, double Y)> ManagedHeap(IReadOnlyList<MemorySample> samples) => samples.Select(s => (s.Minutes, s.ManagedHeapMb)).ToList();

    public static double RssSlope(IReadOnlyList<MemorySample> samples) => Slope(Rss(samples));

    public static double ManagedHeapSlope(IReadOnlyList<MemorySample> samples) => Slope(ManagedHeap(samples));
}
