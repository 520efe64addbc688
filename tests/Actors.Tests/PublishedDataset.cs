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

    /// <param name="pixels">Image i's pixels (16×16, label i % 10), the same in both splits; default: TestData's noisy class shades.</param>
    public static async Task<PublishedDataset> CreateAsync(ActorSystem system, string name, int train, int test, Func<int, byte[]>? pixels = null)
    {
        var dataset = new PublishedDataset(name, pixels is null ? TestData.WriteIdx(train, test, size: 16) : WriteIdx(train, test, pixels));
        await dataset.Kafka.EnsureTopicAsync(new TopicSpec(Topics.Models, 1));
        await new DatasetPublisher(dataset.Kafka, system.Materializer()).PublishAsync(IdxDataset.Load(name, dataset.source.FullName));
        return dataset;
    }

    private static DirectoryInfo WriteIdx(int train, int test, Func<int, byte[]> pixels)
    {
        var dir = Directory.CreateTempSubdirectory("bitactors-idx");
        TestData.WriteIdx(dir.FullName, "train", train, 16, i => i % 10, pixels);
        TestData.WriteIdx(dir.FullName, "t10k", test, 16, i => i % 10, pixels);
        return dir;
    }

    public ValueTask DisposeAsync()
    {
        Kafka.Dispose();
        source.Delete(true);
        Output.Delete(true);
        return ValueTask.CompletedTask;
    }
}
