using System.Text;
using BitActors.Streams.Datasets;
using BitActors.Streams.Pipelines;
using BitActors.Streams.Telemetry;
using Confluent.Kafka;

namespace BitActors.Streams.Kafka;

/// <summary>
/// Writes records the pipeline could not use to <c>bit.deadletter</c>: the original key, value and
/// headers, plus <c>bit.reason</c> and where the record came from (<c>bit.source.topic</c>,
/// <c>bit.source.partition</c>, <c>bit.source.offset</c>). Thread-safe (decode threads call it);
/// delivery failures are reported to <c>onError</c>, never thrown into the data path.
/// </summary>
public sealed class DeadLetters(KafkaEndpoint endpoint, Action<string>? onError = null) : IDisposable
{
    public const string ReasonHeader = "bit.reason";

    private readonly IProducer<string, byte[]> producer = KafkaClients.CreateProducer(endpoint);
    private readonly HashSet<(string Topic, int Partition, long Offset)> sentPositions = new();
    private long sent;

    public long Sent => Interlocked.Read(ref sent);

    /// <summary>Sends a rejected record once: the same record refused again in a later epoch is not sent again.</summary>
    public void Send(RejectedRecord rejected)
    {
        var r = rejected.Record;
        lock (sentPositions)
            if (!sentPositions.Add((r.Topic, r.Partition, r.Offset))) return;
        var message = new Message<string, byte[]>
        {
            Key = r.Key,
            Value = r.Value,
            Headers =
            [
                new Header(Topics.Headers.Labels, Encoding.UTF8.GetBytes(string.Join(',', r.Labels))),
                new Header(Topics.Headers.Index, Encoding.UTF8.GetBytes(r.Index.ToString())),
                new Header(ReasonHeader, Encoding.UTF8.GetBytes(rejected.Reason)),
                new Header("bit.source.topic", Encoding.UTF8.GetBytes(r.Topic)),
                new Header("bit.source.partition", Encoding.UTF8.GetBytes(r.Partition.ToString())),
                new Header("bit.source.offset", Encoding.UTF8.GetBytes(r.Offset.ToString())),
            ],
        };
        Interlocked.Increment(ref sent);
        BitMetrics.DeadLetter(r.Topic);
        try
        {
            producer.Produce(Topics.DeadLetter, message, report =>
            {
                if (report.Error.IsError) onError?.Invoke($"dead letter for {r.Key} not delivered: {report.Error.Reason}");
            });
        }
        catch (KafkaException e)
        {
            onError?.Invoke($"dead letter for {r.Key} not sent: {e.Error.Reason}");
        }
    }

    public void Dispose()
    {
        producer.Flush(TimeSpan.FromSeconds(10));
        producer.Dispose();
    }
}
