using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.Event;
using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;
using BitActors.Streams.Telemetry;
using Confluent.Kafka;

namespace BitActors.Actors.Events;

/// <summary>
/// Owns the producer of <c>bit.models</c>: each <see cref="ModelEvent"/> becomes a CloudEvent. Delivery
/// is confirmed asynchronously; <see cref="FlushEvents"/> answers once everything before it is acknowledged. Only
/// undelivered events are held (a run of many tasks announces one each): delivered ones are let go as new ones come,
/// and a failed delivery is kept only as its error, for the next flush to report.
/// </summary>
public sealed class ModelEventsPublisher : ReceiveActor
{
    // NaN (a class without test images) is written as "NaN" rather than failing the event.
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly KafkaEndpoint _kafka;
    private readonly List<Task> _inFlight = new();
    private Exception? _failed;
    private IProducer<string, byte[]>? _producer;

    public ModelEventsPublisher(KafkaEndpoint kafka)
    {
        _kafka = kafka;
        Receive<ModelEvent>(e =>
        {
            var id = e.Id;
            var message = CloudEvents.ToMessage(id, "bitactors", e.Type, e.Subject, DateTimeOffset.UtcNow, e.Data, Json);
            var (size, limit) = (MessageLimits.SizeOf(message), MessageLimits.ProducerMaxBytes(_kafka));
            var delivery = size <= limit
                ? Producer.ProduceAsync(Topics.Models, message)
                : Task.FromException<DeliveryResult<string, byte[]>>(new InvalidDataException(
                    $"the event is {size:N0} bytes, over the producer's message.max.bytes ({limit:N0}): lower bitactors.events.max-classes-in-event"));
            Prune();
            _inFlight.Add(delivery);
            delivery.ContinueWith(t =>
            {
                if (t.IsFaulted) _log.Error("event {0} ({1}) not delivered: {2}", id, e.Type, t.Exception?.GetBaseException().Message);
                else
                {
                    BitMetrics.Published(e.Type);
                    _log.Info("event {0} {1} → {2}@{3}", e.Type, e.Subject, Topics.Models, t.Result.Offset.Value);
                }
            });
        });
        Receive<FlushEvents>(_ =>
        {
            Prune();
            var (pending, failed) = (_inFlight.ToArray(), _failed);
            _failed = null;
            _inFlight.Clear();
            Task.WhenAll(pending).ContinueWith(t => t.IsFaulted || failed is not null
                    ? (object)new Status.Failure(t.Exception?.GetBaseException() ?? failed!)
                    : new ModelEventPublished("flush", -1))
                .PipeTo(Sender);
        });
        Receive<CountPendingEvents>(_ =>
        {
            Prune();
            Sender.Tell(new PendingEvents(_inFlight.Count));
        });
    }

    /// <summary>Lets go of the deliveries that have finished; the first failure since the last flush is kept for it.</summary>
    private void Prune() => _inFlight.RemoveAll(t =>
    {
        if (!t.IsCompleted) return false;
        if (t.IsFaulted) _failed ??= t.Exception!.GetBaseException();
        return true;
    });

    public static Props Props(KafkaEndpoint kafka) => Akka.Actor.Props.Create(() => new ModelEventsPublisher(kafka));

    private IProducer<string, byte[]> Producer => _producer ??= KafkaClients.CreateProducer(_kafka);

    protected override void PostStop()
    {
        _producer?.Flush(TimeSpan.FromSeconds(10));
        _producer?.Dispose();
    }
}
