using BitActors.Model.Training;

namespace BitActors.Model.Tests;

public class CheckpointChainTests
{
    [Fact]
    public void EachNewCheckpointSupersedesThoseBeyondTheNewestKept()
    {
        var chain = new CheckpointChain(2, "/runs/r/checkpoints");
        Assert.Empty(chain.Add("/runs/r/checkpoints/a-step2.bin"));
        Assert.Empty(chain.Add("/runs/r/checkpoints/a-step4.bin"));
        Assert.Equal(["/runs/r/checkpoints/a-step2.bin"], chain.Add("/runs/r/checkpoints/a-step6.bin"));
        // Rewritten at the same step (a replayed run): it becomes the newest, nothing is deleted twice.
        Assert.Empty(chain.Add("/runs/r/checkpoints/a-step4.bin"));
        Assert.Equal(["/runs/r/checkpoints/a-step6.bin"], chain.Add("/runs/r/checkpoints/a-step8.bin"));
    }

    [Fact]
    public void TheCheckpointResumedFromIsPrunedOnlyWhenItLiesInTheRunsOwnFolder()
    {
        var own = new CheckpointChain(1, "/runs/r/checkpoints", "/runs/r/checkpoints/attempt1-step9.bin");
        Assert.Equal(["/runs/r/checkpoints/attempt1-step9.bin"], own.Add("/runs/r/checkpoints/attempt2-step10.bin"));

        var given = new CheckpointChain(1, "/runs/r/checkpoints", "/home/me/my-checkpoint.bin");
        Assert.Empty(given.Add("/runs/r/checkpoints/attempt2-step10.bin"));
        Assert.Equal(["/runs/r/checkpoints/attempt2-step10.bin"], given.Add("/runs/r/checkpoints/attempt2-step20.bin"));
    }

    [Fact]
    public void KeepingNoCheckpointIsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new CheckpointChain(0, "/runs/r/checkpoints"));
}
