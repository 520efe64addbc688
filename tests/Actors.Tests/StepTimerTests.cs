using BitActors.Actors.Training;

namespace BitActors.Actors.Tests;

public class StepTimerTests
{
    /// <summary>A clock that moves only when told to: the test measures the timer, not this machine's scheduler.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => ticks;

        public void Advance(double seconds) => ticks += (long)(seconds * TimeSpan.TicksPerSecond);
    }

    [Fact]
    public void SplitsTimeBetweenStepsAndWaitingForData()
    {
        var clock = new ManualClock();
        var timer = new StepTimer(clock);
        for (int i = 0; i < 3; i++)
        {
            timer.Asked();
            clock.Advance(0.030);          // the stream takes 30 ms to deliver
            timer.BatchArrived();
            clock.Advance(0.010);          // the step takes 10 ms
            timer.StepDone(8);
        }
        var (step, wait, rate) = timer.Take();
        Assert.Equal(0.030, wait, 9);
        Assert.Equal(0.010, step, 9);
        Assert.Equal(24 / 0.120, rate, 6);  // 24 images in 120 ms
        Assert.Equal((0.0, 0.0, 0.0), timer.Take()); // a new interval starts empty
    }
}
