using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using BitActors.Model.Training;
using BitActors.Streams.Datasets;
using BitActors.Streams.Images;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Training;

/// <summary>
/// Streams one pass over a split's records of <paramref name="classes"/> (of its <paramref name="part"/>, if given) (eval transform: resize straight
/// to the crop) through a trainer, one batch at a time, and sums the results in one <see cref="EvaluationTally"/>
/// (memory O(classes); the confusion matrix only up to <paramref name="confusionMaxClasses"/> classes).
/// </summary>
public static class TrainerEvaluation
{
    public static async Task<EvaluationResult> RunAsync(
        KafkaEndpoint kafka, SplitManifest split, ClassSubset classes, AugmentSettings augment, int batchSize, int parallelism,
        IActorRef trainer, IMaterializer materializer, int confusionMaxClasses = EvaluationTally.DefaultConfusionMaxClasses, SplitPart? part = null)
    {
        var records = KafkaRecordSource.Create(kafka, split, epochs: 1, accept: classes.Contains, part: part);
        return await RunAsync(records, classes, augment, batchSize, parallelism, trainer, materializer, confusionMaxClasses);
    }

    /// <summary>
    /// The pass over the validation hold-out <paramref name="part"/> of <paramref name="split"/>; null when it holds no image of
    /// <paramref name="classes"/> (a small training split can hold none out): no validation score, not a failed task.
    /// </summary>
    public static async Task<EvaluationResult?> HeldOutAsync(
        KafkaEndpoint kafka, SplitManifest split, SplitPart part, ClassSubset classes, AugmentSettings augment, int batchSize, int parallelism,
        IActorRef trainer, IMaterializer materializer, int confusionMaxClasses = EvaluationTally.DefaultConfusionMaxClasses)
    {
        var tally = await TallyAsync(KafkaRecordSource.Create(kafka, split, epochs: 1, accept: classes.Contains, part: part),
            classes, augment, batchSize, parallelism, trainer, materializer, confusionMaxClasses);
        return tally.Examples == 0 ? null : tally.ToResult();
    }

    /// <summary>The same pass over <paramref name="records"/> (e.g. examples drawn and held in memory to validate on).</summary>
    public static async Task<EvaluationResult> RunAsync(Source<ImageRecord, Akka.NotUsed> records, ClassSubset classes, AugmentSettings augment, int batchSize,
        int parallelism, IActorRef trainer, IMaterializer materializer, int confusionMaxClasses = EvaluationTally.DefaultConfusionMaxClasses)
    {
        var total = await TallyAsync(records, classes, augment, batchSize, parallelism, trainer, materializer, confusionMaxClasses);
        return total.ToResult();
    }

    private static Task<EvaluationTally> TallyAsync(Source<ImageRecord, Akka.NotUsed> records, ClassSubset classes, AugmentSettings augment, int batchSize,
        int parallelism, IActorRef trainer, IMaterializer materializer, int confusionMaxClasses) =>
        ImagePipelines.Eval(records, classes, augment, batchSize, parallelism)
            .SelectAsync(1, batch => trainer.Ask<EvaluationPartial>(new EvaluateOn(batch), TimeSpan.FromMinutes(5)))
            .RunAggregate(new EvaluationTally(classes.Count, confusionMaxClasses), (tally, p) => p.AddTo(tally), materializer);
}
