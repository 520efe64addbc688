using System.Collections.Concurrent;
using System.Diagnostics;
using BitActors.Actors.Training;
using BitActors.Streams.Telemetry;

namespace BitActors.Actors.Telemetry;

/// <summary>
/// A training loop's progress reports as the <see cref="BitMetrics"/> series of its run and task: the step counter
/// grows by the steps since the task's previous report (a restarted trainer that goes back adds nothing until it
/// passes where it was), steps a second are those steps over the wall time between the two reports.
/// </summary>
public static class TrainingMeters
{
    private static readonly ConcurrentDictionary<(string Run, string Task), (int Step, long At)> Last = new();

    public static void Record(TrainingProgress p)
    {
        var tags = BitMetrics.Task(p.Run, p.Task);
        var now = Stopwatch.GetTimestamp();
        var (step, at) = Last.TryGetValue((p.Run, p.Task), out var last) ? last : (0, 0L);
        if (p.Step > step)
        {
            BitMetrics.Steps.Add(p.Step - step, tags);
            if (at != 0) BitMetrics.StepsPerSecond.Record((p.Step - step) / Math.Max(1e-9, Stopwatch.GetElapsedTime(at, now).TotalSeconds), tags);
        }
        Last[(p.Run, p.Task)] = (Math.Max(step, p.Step), now);
        BitMetrics.Step.Record(p.Step, tags);
        BitMetrics.ImagesPerSecond.Record(p.ImagesPerSecond, tags);
        BitMetrics.DataWait.Record(p.DataWaitSeconds, tags);
        BitMetrics.Loss.Record(p.Loss, tags);
        BitMetrics.LearningRate.Record(p.LearningRate, tags);
    }

    /// <summary>A task starts training here.</summary>
    public static void TaskStarted() => BitMetrics.TasksRunning.Add(1);

    /// <summary>A task that started here ended, <paramref name="completed"/> or failed.</summary>
    public static void TaskEnded(bool completed)
    {
        BitMetrics.TasksRunning.Add(-1);
        (completed ? BitMetrics.TasksCompleted : BitMetrics.TasksFailed).Add(1);
    }
}
