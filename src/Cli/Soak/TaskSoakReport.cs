namespace BitActors.Cli.Soak;

/// <summary>
/// What a task soak says: memory (RSS, live managed heap) when 10 %, 50 % and 100 % of the tasks had finished, the
/// least-squares slope of each over tasks (MB per 100 tasks, fitted after the first 10 %), and what stayed bounded —
/// the largest number of model events held undelivered, of tasks running at once, and the evaluations' confusion
/// matrices the run's outcome still holds (none: each went out with its event).
/// </summary>
public static class TaskSoakReport
{
    public static object Of(TaskSoakResult r, TaskSoak.Options o, double maxSlope, out bool flat)
    {
        var samples = r.Samples;
        var fitted = samples.Where(s => s.Finished >= o.Tasks / 10).ToList();
        if (fitted.Count < 2) fitted = samples.TakeLast(Math.Min(2, samples.Count)).ToList();
        var rss = fitted.Select(s => (X: s.Finished / 100.0, Y: s.RssMb)).ToList();
        var heap = fitted.Select(s => (X: s.Finished / 100.0, Y: s.ManagedHeapMb)).ToList();
        double rssSlope = MemoryTrend.Slope(rss), rssError = MemoryTrend.SlopeStandardError(rss);
        double heapSlope = MemoryTrend.Slope(heap), heapError = MemoryTrend.SlopeStandardError(heap);
        bool rssFlat = MemoryTrend.IsFlat(rssSlope, rssError, maxSlope), heapFlat = MemoryTrend.IsFlat(heapSlope, heapError, maxSlope);
        flat = rssFlat && heapFlat;
        var backlogs = samples.Select(s => s.Backlog).OfType<Actors.FineTuning.FanOutBacklog>().ToList();
        var finished = r.Run.Completed.Count + r.Run.Failed.Count;
        return new
        {
            bench = "soak-tasks", tasks = o.Tasks, completed = r.Run.Completed.Count, failed = r.Run.Failed.Count,
            arch = o.Arch, resolution = o.Resolution, steps_per_task = o.StepsPerTask, images_per_task = r.ImagesPerTask, test_split_images = r.TestImages,
            minutes = Math.Round(r.Elapsed.TotalMinutes, 2), seconds_per_task = Math.Round(r.Elapsed.TotalSeconds / Math.Max(1, finished), 3),
            malloc_arenas = Terminal.MallocArenas.Describe(), sample_every = o.SampleEvery, samples = samples.Count, fitted_samples = fitted.Count,
            rss_mb = new { at_start = Round(samples[0].RssMb), at_10pct = Round(At(samples, o.Tasks / 10).RssMb), at_50pct = Round(At(samples, o.Tasks / 2).RssMb),
                at_100pct = Round(samples[^1].RssMb), max = Round(samples.Max(s => s.RssMb)) },
            managed_heap_mb = new { at_10pct = Round(At(samples, o.Tasks / 10).ManagedHeapMb), at_50pct = Round(At(samples, o.Tasks / 2).ManagedHeapMb),
                at_100pct = Round(samples[^1].ManagedHeapMb) },
            rss_slope_mb_per_100_tasks = Math.Round(rssSlope, 3), rss_slope_stderr = Math.Round(rssError, 3),
            managed_heap_slope_mb_per_100_tasks = Math.Round(heapSlope, 3), managed_heap_slope_stderr = Math.Round(heapError, 3),
            max_slope_mb_per_100_tasks = maxSlope, rss_flat = rssFlat, managed_heap_flat = heapFlat, flat,
            bounded = new
            {
                backlog_samples = backlogs.Count,
                max_pending_events = backlogs.Select(b => b.PendingEvents).DefaultIfEmpty(0).Max(),
                max_running = backlogs.Select(b => b.Running).DefaultIfEmpty(0).Max(),
                max_outcomes_held = backlogs.Select(b => b.Outcomes).DefaultIfEmpty(0).Max(), // one compact record per finished task
                confusion_matrices_kept = r.Run.Completed.Count(c => c.Test.Confusion is not null),
            },
            // [tasks finished, minutes, RSS MB, managed heap MB, events undelivered (-1: not asked)]
            series = samples.Select(s => new[] { s.Finished, Math.Round(s.Minutes, 3), Round(s.RssMb), Round(s.ManagedHeapMb), s.Backlog?.PendingEvents ?? -1 }),
        };
    }

    /// <summary>The first sample taken once <paramref name="finished"/> tasks had finished (the last if none was).</summary>
    private static TaskSample At(IReadOnlyList<TaskSample> samples, int finished) => samples.FirstOrDefault(s => s.Finished >= finished) ?? samples[^1];

    private static double Round(double mb) => Math.Round(mb, 1);
}
