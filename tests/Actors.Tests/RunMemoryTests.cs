using Akka.Actor;
using Akka.TestKit.Xunit2;
using BitActors.Actors.Events;
using BitActors.Actors.Hosting;
using BitActors.Model.Checkpoints;
using BitActors.Model.Training;
using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Tests;

/// <summary>
/// A run of many tasks holds per finished task only what its report needs: the events publisher lets go of delivered
/// events (not only at the run's final flush), and an outcome is kept without its confusion matrix.
/// </summary>
public sealed class RunMemoryTests() : TestKit(BitActorsConfig.Reference())
{
    [Fact]
    public async Task ThePublisherHoldsOnlyUndeliveredEventsAndAFailedOneIsStillReportedAtTheFlush()
    {
        using var kafka = new EmbeddedKafka();
        await kafka.EnsureTopicAsync(new TopicSpec(Topics.Models, 1));
        var publisher = Sys.ActorOf(ModelEventsPublisher.Props(kafka.Endpoint));
        for (var i = 0; i < 50; i++) publisher.Tell(new ModelEvent(ModelEvent.FineTuneCompletedType, $"run/task-{i}", new { task = i }));

        // Delivered one by one: none held, though no flush came (before, all 50 were held until the run's end).
        await AwaitAssertAsync(async () => Assert.Equal(0, (await publisher.Ask<PendingEvents>(new CountPendingEvents(), TimeSpan.FromSeconds(5))).Count),
            TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(200));

        publisher.Tell(new ModelEvent(ModelEvent.FineTuneCompletedType, "run/huge", new { blob = new string('x', 1_200_000) }));
        publisher.Tell(new ModelEvent(ModelEvent.FineTuneCompletedType, "run/after", new { task = 51 })); // lets go of the failed one
        var failure = await Assert.ThrowsAsync<InvalidDataException>(() => publisher.Ask<object>(new FlushEvents(), TimeSpan.FromSeconds(20)));
        Assert.Contains("over the producer's message.max.bytes", failure.Message);
        Assert.IsType<ModelEventPublished>(await publisher.Ask<object>(new FlushEvents(), TimeSpan.FromSeconds(20))); // reported once
    }

    [Fact]
    public void AnOutcomeIsKeptWithoutItsConfusionMatrixAndWithPerClassTop1OnlyUpToTheEventsLimit()
    {
        var completed = new FineTuneCompleted("run", new FineTuneTask("task", "d", ClassSubset.Range(0, 3), null, 0, false), "Tiny", 30, 500,
            new EvaluationResult(0.5, 1, 0.7, 6, [1, 0.5, 0], [[2, 0, 0], [1, 1, 0], [0, 2, 0]]),
            new CheckpointFiles.Saved("/tmp/task.safetensors", 10, new string('a', 64), "safetensors"), new Dictionary<string, object>(), TimeSpan.FromSeconds(1));

        var kept = completed.Compact(maxClasses: 3);
        Assert.Null(kept.Test.Confusion);
        Assert.Equal(new[] { 1, 0.5, 0 }, kept.Test.PerClassTop1);
        Assert.Equal((0.5, 1.0, 0.7, 6), (kept.Test.Top1, kept.Test.Top5, kept.Test.Loss, kept.Test.Examples));
        Assert.Equal(completed.Checkpoint, kept.Checkpoint);
        Assert.Empty(completed.Compact(maxClasses: 2).Test.PerClassTop1); // in NAME.evaluation.json, which the event names
    }
}
