using Confluent.Kafka;

namespace BitActors.Streams.Kafka;

/// <summary>Bridges Confluent's delivery handler to a Task, so a stream bounds the records in flight.</summary>
public static class Producing
{
    public static Task<DeliveryReport<string, byte[]>> ProduceAsync(IProducer<string, byte[]> producer, TopicPartition partition, Message<string, byte[]> message)
    {
        var delivered = new TaskCompletionSource<DeliveryReport<string, byte[]>>(TaskCreationOptions.RunContinuationsAsynchronously);
        while (true)
        {
            try
            {
                producer.Produce(partition, message, report =>
                {
                    if (report.Error.IsError) delivered.TrySetException(new ProduceException<string, byte[]>(report.Error, report));
                    else delivered.TrySetResult(report);
                });
                return delivered.Task;
            }
            catch (ProduceException<string, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                // The local queue is full: serve delivery reports to make room, then try again.
                producer.Poll(TimeSpan.FromMilliseconds(100));
            }
        }
    }
}
