using BitActors.Actors.Events;
using BitActors.Streams.Kafka;

namespace BitActors.Actors.Cluster;

/// <summary>
/// The tasks of a run that <c>bit.models</c> already holds an outcome for: a coordinator that takes over (a
/// singleton moved to another node, or a restarted cluster) starts from these, so no task is announced twice.
/// </summary>
public static class CompletedTasks
{
    public static IReadOnlySet<string> Read(KafkaEndpoint kafka, string runId, TimeSpan timeout) =>
        ModelEventsLog.ReadToEnd(kafka, timeout)
            .Where(e => e.Type is ModelEvent.FineTuneCompletedType or ModelEvent.FineTuneFailedType)
            .Select(e => e.TaskOf(runId)).OfType<string>().ToHashSet();
}
