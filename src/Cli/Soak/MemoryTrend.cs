using System.Diagnostics;

namespace BitActors.Cli.Soak;

/// <summary>One memory reading of this process: resident set size and managed heap (as of the last GC), in MB.</summary>
public sealed record MemorySample(double Minutes, double RssMb, double ManagedHeapMb)
{
    public static MemorySample Now(TimeSpan elapsed)
    {
        using var process = Process.GetCurrentProcess();
        // The heap as the last GC left it (no sawtooth of allocations since); before any GC, what is allocated.
        var gc = GC.GetGCMemoryInfo();
        var heap = gc.Index > 0 ? gc.HeapSizeBytes : GC.GetTotalMemory(false);
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

    public static double RssSlope(IReadOnlyList<MemorySample> samples) => Slope(samples.Select(s => (s.Minutes, s.RssMb)).ToList());

    public static double ManagedHeapSlope(IReadOnlyList<MemorySample> samples) => Slope(samples.Select(s => (s.Minutes, s.ManagedHeapMb)).ToList());
}
