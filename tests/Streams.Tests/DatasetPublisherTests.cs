using System.Diagnostics;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;

namespace BitActors.Streams.Tests;

public sealed class DatasetPublisherTests : IDisposable
{
    private readonly ActorSystem system = ActorSystem.Create("publisher-tests");
    private readonly EmbeddedKafka kafka = new();
    private readonly DirectoryInfo source = TestData.WriteIdx(train: 300, test: 100);

    [Fact]
    public async Task PublishesEveryImageWithHeadersAndAManifestWithExactCounts()
    {
        var dataset = IdxDataset.Load("tiny-fashion", source.FullName, IdxDataset.FashionMnistClasses);
        var result = await new DatasetPublisher(kafka, system.Materializer()).PublishAsync(dataset);

        Assert.False(result.AlreadyPublished);
        var manifest = DatasetCatalog.Read(kafka.Endpoint, "tiny-fashion");
        Assert.Equal(300, manifest.Split("train").Records);
        Assert.Equal(100, manifest.Split("test").Records);
        Assert.Equal("bit.data.tiny-fashion.train", manifest.Split("train").Topic);
        Assert.Equal(new ImageSize(28, 28, 1), manifest.ImageSize);
        Assert.Equal("Ankle boot", manifest.Classes[9]);

        var records = await KafkaRecordSource.Create(kafka.Endpoint, manifest.Split("train"))
            .RunWith(Sink.Seq<ImageRecord>(), system.Materializer());
        Assert.Equal(300, records.Count);
        Assert.Equal(Enumerable.Range(0, 300).Select(i => (long)i), records.Select(r => r.Index).Order());
        Assert.All(records, r => Assert.Equal((int)(r.Index % 10), r.Labels.Single()));
        Assert.All(records, r => Assert.Equal($"tiny-fashion/train/{r.Index:D8}", r.Key));
        Assert.All(records, r => Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, r.Value[..4]));
    }

    [Fact]
    public async Task PublishingTheSameDatasetTwiceIsDetectedAndAddsNothing()
    {
        var dataset = IdxDataset.Load("twice", source.FullName);
        var publisher = new DatasetPublisher(kafka, system.Materializer());
        await publisher.PublishAsync(dataset);
        var again = await publisher.PublishAsync(dataset);
        Assert.True(again.AlreadyPublished);
        Assert.Equal(300, DatasetCatalog.CountRecords(kafka.Endpoint, "bit.data.twice.train", again.Manifest.Split("train").Partitions).Sum());
    }

    [Fact]
    public async Task EpochsAreExactAndRepeatable()
    {
        var dataset = IdxDataset.Load("epochs", source.FullName);
        var published = await new DatasetPublisher(kafka, system.Materializer()).PublishAsync(dataset);
        var records = await KafkaRecordSource.Create(kafka.Endpoint, published.Manifest.Split("test"), epochs: 3, accept: l => l[0] < 5)
            .RunWith(Sink.Seq<ImageRecord>(), system.Materializer());
        Assert.Equal(150, records.Count);
        foreach (var epoch in records.GroupBy(r => r.Epoch))
            Assert.Equal(50, epoch.Select(r => r.Index).Distinct().Count());
    }

    [Fact]
    public void TruncatedIdxFilesAreRefusedByName()
    {
        var path = Path.Combine(source.FullName, "train-images-idx3-ubyte.gz");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Assert.ThrowsAny<InvalidDataException>(() => IdxDataset.Load("broken", source.FullName));
        Assert.Contains("train-images-idx3-ubyte", e.Message);
    }

    [Fact]
    [Trait("Category", "External")]
    public async Task KcatReadsThePublishedRecordsAndHeaders()
    {
        var dataset = IdxDataset.Load("kcat", source.FullName);
        await new DatasetPublisher(kafka, system.Materializer()).PublishAsync(dataset);
        var psi = new ProcessStartInfo("kcat", $"-C -b {kafka.BootstrapServers} -t bit.data.kcat.test -e -q -f %k|%h\\n")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var kcat = Process.Start(psi) ?? throw new InvalidOperationException("kcat did not start (apt-get install kcat)");
        var output = await kcat.StandardOutput.ReadToEndAsync();
        await kcat.WaitForExitAsync();
        Assert.Equal(0, kcat.ExitCode);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(100, lines.Length);
        Assert.All(lines, line =>
        {
            Assert.StartsWith("kcat/test/", line);
            Assert.Contains("bit.labels=", line);
            Assert.Contains("bit.index=", line);
            Assert.Contains("content-type=image/png", line);
        });
    }

    public void Dispose()
    {
        system.Terminate().Wait();
        kafka.Dispose();
        source.Delete(true);
    }
}
