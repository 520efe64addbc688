using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace BitActors.Streams.Telemetry;

/// <summary>
/// The one <see cref="Meter"/> of the program ("BitActors") and its instruments. Streams records what it moves (consumer
/// lag, dead letters); Actors record training and tasks; an exporter (<c>MetricsEndpoint</c>) serves them as Prometheus
/// series named <c>bitactors_*</c> (docs/operations.md lists them). Recording costs next to nothing while no exporter
/// listens. Model knows nothing of it.
/// </summary>
public static class BitMetrics
{
    public const string MeterName = "BitActors";

    public static readonly Meter Meter = new(MeterName);

    // Training, tagged run and task.
    public static readonly Counter<long> Steps = Meter.CreateCounter<long>("bitactors.train.steps", "{step}", "Training steps done");
    public static readonly Gauge<double> StepsPerSecond = Meter.CreateGauge<double>("bitactors.train.steps_per_second", null, "Steps a second since the last progress report");
    public static readonly Gauge<double> ImagesPerSecond = Meter.CreateGauge<double>("bitactors.train.images_per_second", null, "Images a second since the last progress report");
    public static readonly Gauge<double> DataWait = Meter.CreateGauge<double>("bitactors.train.data_wait", "s", "Mean time a step waited for its batch since the last progress report");
    public static readonly Gauge<double> Loss = Meter.CreateGauge<double>("bitactors.train.loss", null, "Training loss at the last progress report");
    public static readonly Gauge<double> LearningRate = Meter.CreateGauge<double>("bitactors.train.learning_rate", null, "Learning rate at the last progress report");
    public static readonly Gauge<long> Step = Meter.CreateGauge<long>("bitactors.train.step", "{step}", "Step of the last progress report");

    // Tasks: queued on the node that hands them out, running/completed/failed on the node that runs them.
    public static readonly Gauge<long> TasksQueued = Meter.CreateGauge<long>("bitactors.tasks.queued", "{task}", "Tasks waiting for a device");
    public static readonly UpDownCounter<long> TasksRunning = Meter.CreateUpDownCounter<long>("bitactors.tasks.running", "{task}", "Tasks training now");
    public static readonly Counter<long> TasksCompleted = Meter.CreateCounter<long>("bitactors.tasks.completed", "{task}", "Tasks that completed");
    public static readonly Counter<long> TasksFailed = Meter.CreateCounter<long>("bitactors.tasks.failed", "{task}", "Task attempts that failed");

    // Kafka, tagged topic (and the event type of published events).
    public static readonly Counter<long> EventsPublished = Meter.CreateCounter<long>("bitactors.events.published", "{event}", "Trained-model events delivered to bit.models");
    public static readonly Counter<long> DeadLettered = Meter.CreateCounter<long>("bitactors.events.dead_lettered", "{record}", "Records sent to bit.deadletter");
    public static readonly Gauge<long> ConsumerLag = Meter.CreateGauge<long>("bitactors.kafka.consumer_lag", "{record}",
        "Records of the data split not yet read in this epoch (the split's end offsets minus the reader's position)");

    // Memory: the process's resident set (libtorch's CPU tensors live there; TorchSharp 0.107 exposes no CUDA allocator figures).
    public static readonly ObservableGauge<long> DeviceMemory = Meter.CreateObservableGauge("bitactors.device.memory",
        () => new Measurement<long>(Environment.WorkingSet, new KeyValuePair<string, object?>("kind", "process_rss")), "By", "Memory the trainer uses");

    /// <summary>A data topic's lag: records of the split this reader has yet to read.</summary>
    public static void Lag(string topic, long records) => ConsumerLag.Record(records, new KeyValuePair<string, object?>("topic", topic));

    /// <summary>A record of <paramref name="topic"/> went to the dead-letter topic.</summary>
    public static void DeadLetter(string topic) => DeadLettered.Add(1, new KeyValuePair<string, object?>("topic", topic));

    /// <summary>An event of <paramref name="type"/> was delivered.</summary>
    public static void Published(string type) => EventsPublished.Add(1, new KeyValuePair<string, object?>("type", type));

    /// <summary>
    /// Zeros for the counts that may not move for a while (no task yet, nothing dead-lettered), so that every series is
    /// in the first scrape: an instrument nothing was recorded on is not exported.
    /// </summary>
    public static void Zero()
    {
        TasksQueued.Record(0);
        TasksRunning.Add(0);
        TasksCompleted.Add(0);
        TasksFailed.Add(0);
        EventsPublished.Add(0);
        DeadLettered.Add(0);
    }

    public static TagList Task(string run, string task) => new() { { "run", run }, { "task", task } };
}
