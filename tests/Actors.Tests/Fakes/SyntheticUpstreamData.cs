using Akka;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using BitActors.Actors.Training;
using BitActors.Model.Training;
using BitActors.Streams.Datasets;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Tests.Fakes;

/// <summary>
/// Upstream data without Kafka: a manifest that appears after <c>unpublishedReads</c> reads, batches of two
/// 4×4 grayscale images (all of them, or only <c>batches</c> and then nothing, as a stalled source), and a
/// fixed evaluation result.
/// </summary>
internal sealed class SyntheticUpstreamData(int unpublishedReads = 0, int? batches = null) : IUpstreamData
{
    private int _reads;

    public int Reads => Volatile.Read(ref _reads);

    public static readonly EvaluationResult Evaluation = new(0.75, 1.0, 0.5, 8, [1.0, 0.5], [[4, 0], [2, 2]]);

    public DatasetManifest? TryReadManifest() => Interlocked.Increment(ref _reads) <= unpublishedReads ? null
        : new DatasetManifest("synthetic", ["a", "b"], false, new ImageSize(4, 4, 1), "hash",
            [new SplitManifest("train", "bit.data.synthetic.train", 1, 64, [64]), new SplitManifest("test", "bit.data.synthetic.test", 1, 8, [8])],
            DateTimeOffset.UnixEpoch);

    public Source<ImageBatch, NotUsed> TrainBatches(DatasetManifest manifest)
    {
        var batch = new ImageBatch(new float[2 * 16], [2, 1, 4, 4], [0, 1]);
        return batches is int n
            ? Source.From(Enumerable.Repeat(batch, n)).Concat(Source.Never<ImageBatch>())
            : Source.Repeat(batch);
    }

    public Task<EvaluationResult> EvaluateAsync(DatasetManifest manifest, IActorRef trainer, IMaterializer materializer) => Task.FromResult(Evaluation);

    public void Dispose() { }
}

/// <summary>A fan-out with nothing to do: every backbone it is given finishes at once with no tasks.</summary>
internal sealed class EmptyDispatcher : ReceiveActor
{
    public EmptyDispatcher() => Receive<BackboneReady>(_ => Context.Parent.Tell(new AllTasksFinished([])));

    public static Props Props(RunSpec run, IActorRef reporter) => Akka.Actor.Props.Create(() => new EmptyDispatcher());
}
