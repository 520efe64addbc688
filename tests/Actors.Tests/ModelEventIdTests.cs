using BitActors.Actors.Events;
using BitActors.Model.Checkpoints;
using BitActors.Model.Training;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Tests;

public class ModelEventIdTests
{
    private static FineTuneCompleted Completed(string run, string task, double top1, double seconds, string checkpoint) =>
        new(run, new FineTuneTask(task, "d", ClassSubset.Range(0, 2), 5, 0, false), "Tiny", 10, 500,
            new EvaluationResult(top1, 1, 0.5, 100, [top1, top1], [[1, 0], [0, 1]]),
            new CheckpointFiles.Saved(checkpoint, 10, new string('a', 64), "torchsharp"), new Dictionary<string, object>(), TimeSpan.FromSeconds(seconds));

    [Fact]
    public void AnEventIdDependsOnTheRunTaskAndTypeButNotOnTheAttempt()
    {
        // The same task finishing after a retry: other metrics, time and checkpoint, the same event id.
        var first = ModelEvent.FineTuneCompleted(Completed("run-1", "transfer-5shot", 0.8, 10, "/a.bin"));
        var retried = ModelEvent.FineTuneCompleted(Completed("run-1", "transfer-5shot", 0.7, 25, "/b.bin"));
        Assert.Equal(first.Id, retried.Id);
        Assert.True(Guid.TryParse(first.Id, out _));

        Assert.NotEqual(first.Id, ModelEvent.FineTuneCompleted(Completed("run-1", "transfer-10shot", 0.8, 10, "/a.bin")).Id);
        Assert.NotEqual(first.Id, ModelEvent.FineTuneCompleted(Completed("run-2", "transfer-5shot", 0.8, 10, "/a.bin")).Id);
        var task = new FineTuneTask("transfer-5shot", "d", ClassSubset.Range(0, 2), 5, 0, false);
        Assert.NotEqual(first.Id, ModelEvent.FineTuneFailed(new FineTuneFailed("run-1", task, "x"), "Tiny").Id);
        Assert.Equal(ModelEvent.FineTuneFailed(new FineTuneFailed("run-1", task, "x"), "Tiny").Id,
            ModelEvent.FineTuneFailed(new FineTuneFailed("run-1", task, "another reason"), "Tiny").Id);
    }
}
