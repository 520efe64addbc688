using BitActors.Actors.Training;

namespace BitActors.Actors.Tests;

public class StepTimerTests
{
    [Fact]
    public void SplitsTimeBetweenStepsAndWaitingForData()
    {
        var timer = new StepTimer();
        for (int i = 0; i < 3; i++)
        {
            timer.Asked();
            Thread.Sleep(30);              // the stream takes 30 ms to deliver
            timer.BatchArrived();
            Thread.Sleep(10);              // the step takes 10 ms
            timer.StepDone(8);
        }
        var (step, wait, rate) = timer.Take();
        Assert.InRange(wait, 0.025, 0.2);
        Assert.InRange(step, 0.008, 0.1);
        Assert.True(wait > step);
        Assert.True(rate > 0);
        Assert.Equal((0.0, 0.0, 0.0), timer.Take()); // a new interval starts empty
    }
}
