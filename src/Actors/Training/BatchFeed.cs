using Akka;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Training;

/// <summary>
/// A batch offered to the actor driving training; the stream waits for the reply before offering the next.
/// <c>Feed</c> tells which feed sent it, so batches of a feed already replaced can be recognised.
/// </summary>
public sealed record NextBatch(ImageBatch Batch, int Feed = 0);

/// <summary>The reply that lets the stream offer the next batch.</summary>
public sealed record BatchAccepted
{
    public static readonly BatchAccepted Instance = new();
}

/// <summary>
/// Connects a batch source to an actor with backpressure: each batch is an Ask to <c>driver</c>
/// (SelectAsync(1)), so no more batches are prepared than the stages' buffers hold while a step runs.
/// Materialized with the actor's own materializer, so the stream dies with the actor.
/// </summary>
public static class BatchFeed
{
    public static UniqueKillSwitch Run(Source<ImageBatch, NotUsed> batches, IActorRef driver, IMaterializer materializer, TimeSpan stepTimeout, int feed = 0)
    {
        var (killSwitch, completion) = batches
            .ViaMaterialized(KillSwitches.Single<ImageBatch>(), Keep.Right)
            .SelectAsync(1, batch => driver.Ask<BatchAccepted>(new NextBatch(batch, feed), stepTimeout))
            .ToMaterialized(Sink.Ignore<BatchAccepted>(), Keep.Both)
            .Run(materializer);
        completion.PipeTo(driver, success: () => new FeedEnded(null, feed), failure: e => new FeedEnded(e, feed));
        return killSwitch;
    }
}

/// <summary>The batch stream ended: normally (null) or with an error (Kafka, data).</summary>
public sealed record FeedEnded(Exception? Error, int Feed = 0);
