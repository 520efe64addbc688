using System.Diagnostics;

namespace BitActors.Actors.Training;

/// <summary>
/// Where a training loop's time goes between two progress reports: running steps on the trainer, or
/// waiting for the stream to hand over the next batch (data wait: the pipeline is not keeping up).
/// </summary>
public sealed class StepTimer
{
    private readonly Stopwatch wait = new(), step = new(), interval = Stopwatch.StartNew();
    private double waitSeconds, stepSeconds;
    private int steps;
    private long images;

    /// <summary>The next batch is asked for (the previous one was acknowledged).</summary>
    public void Asked() => wait.Restart();

    /// <summary>A batch arrived and goes to the trainer.</summary>
    public void BatchArrived()
    {
        if (wait.IsRunning) waitSeconds += wait.Elapsed.TotalSeconds;
        wait.Reset();
        step.Restart();
    }

    /// <summary>The trainer finished the step.</summary>
    public void StepDone(int examples)
    {
        stepSeconds += step.Elapsed.TotalSeconds;
        step.Reset();
        steps++;
        images += examples;
    }

    /// <summary>Means since the last call, then starts a new interval.</summary>
    public (double StepSeconds, double DataWaitSeconds, double ImagesPerSecond) Take()
    {
        var result = steps == 0
            ? (0.0, 0.0, 0.0)
            : (stepSeconds / steps, waitSeconds / steps, images / Math.Max(1e-9, interval.Elapsed.TotalSeconds));
        (waitSeconds, stepSeconds, steps, images) = (0, 0, 0, 0);
        interval.Restart();
        return result;
    }
}
