namespace BitActors.Actors.Training;

/// <summary>
/// Where a training loop's time goes between two progress reports: running steps on the trainer, or
/// waiting for the stream to hand over the next batch (data wait: the pipeline is not keeping up).
/// The clock is a <see cref="TimeProvider"/> (the system's by default; tests move a manual one).
/// </summary>
public sealed class StepTimer(TimeProvider? clock = null)
{
    private readonly TimeProvider time = clock ?? TimeProvider.System;
    private long? waitStart, stepStart;
    private long intervalStart = (clock ?? TimeProvider.System).GetTimestamp();
    private double waitSeconds, stepSeconds;
    private int steps;
    private long images;

    /// <summary>The next batch is asked for (the previous one was acknowledged).</summary>
    public void Asked() => waitStart = time.GetTimestamp();

    /// <summary>A batch arrived and goes to the trainer.</summary>
    public void BatchArrived()
    {
        if (waitStart is long started) waitSeconds += time.GetElapsedTime(started).TotalSeconds;
        waitStart = null;
        stepStart = time.GetTimestamp();
    }

    /// <summary>The trainer finished the step.</summary>
    public void StepDone(int examples)
    {
        if (stepStart is long started) stepSeconds += time.GetElapsedTime(started).TotalSeconds;
        stepStart = null;
        steps++;
        images += examples;
    }

    /// <summary>Means since the last call, then starts a new interval.</summary>
    public (double StepSeconds, double DataWaitSeconds, double ImagesPerSecond) Take()
    {
        var result = steps == 0
            ? (0.0, 0.0, 0.0)
            : (stepSeconds / steps, waitSeconds / steps, images / Math.Max(1e-9, time.GetElapsedTime(intervalStart).TotalSeconds));
        (waitSeconds, stepSeconds, steps, images) = (0, 0, 0, 0);
        intervalStart = time.GetTimestamp();
        return result;
    }
}
