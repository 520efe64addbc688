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
/// is confirmed asynchronously; <see cref="FlushEvents"/> answers once everything before it is acknowledged.
/// </summary>
public sealed class ModelEventsPublisher : ReceiveActor
{
    // NaN (a class without test images) is written as "NaN" rather than failing the event.
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly KafkaEndpoint _kafka;
    private readonly List<Task> _inFlight = new();
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
            var pending = _inFlight.ToArray();
            _inFlight.Clear();
            Task.WhenAll(pending).ContinueWith(t => t.IsFaulted
                    ? (object)new Status.Failure(t.Exception!.GetBaseException())
                    : new ModelEventPublished("flush", -1))
                .PipeTo(Sender);
        });
    }

    public static Props Props(KafkaEndpoint kafka) => Akka.Actor.Props.Create(() => new ModelEventsPublisher(kafka));

    private IProducer<string, byte[]> Producer => _producer ??= KafkaClients.CreateProducer(_kafka);

    protected override void PostStop()
    {
        _producer?.Flush(TimeSpan.FromSeconds(10));
        _producer?.Dispose();
    }
}
