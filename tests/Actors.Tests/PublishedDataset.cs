using Akka.Actor;
using Akka.Streams;
using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;
using BitActors.Streams.Tests;

namespace BitActors.Actors.Tests;

/// <summary>
/// An embedded broker holding a small synthetic 10-class dataset (16×16 IDX images, published as a user
/// would) and the bit.models topic, plus a folder for the run's output; all removed on dispose.
/// </summary>
internal sealed class PublishedDataset : IAsyncDisposable
{
    private readonly DirectoryInfo source;

    private PublishedDataset(string name, DirectoryInfo source)
    {
        Name = name;
        this.source = source;
    }

    public string Name { get; }

    public EmbeddedKafka Kafka { get; } = new();

    public DirectoryInfo Output { get; } = Directory.CreateTempSubdirectory("bitactors-run");

    public static async Task<PublishedDataset> CreateAsync(ActorSystem system, string name, int train, int test)
    {
        var dataset = new PublishedDataset(name, TestData.WriteIdx(train, test, size: 16));
        await dataset.Kafka.EnsureTopicAsync(new TopicSpec(Topics.Models, 1));
        await new DatasetPublisher(dataset.Kafka, system.Materializer()).PublishAsync(IdxDataset.Load(name, dataset.source.FullName));
        return dataset;
    }

    public ValueTask DisposeAsync()
    {
        Kafka.Dispose();
        source.Delete(true);
        Output.Delete(true);
        return ValueTask.CompletedTask;
    }
}
