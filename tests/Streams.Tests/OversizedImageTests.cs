using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using BitActors.Streams.Datasets;
using BitActors.Streams.Images;
using BitActors.Streams.Kafka;
using Confluent.Kafka;
using SkiaSharp;

namespace BitActors.Streams.Tests;

public sealed class OversizedImageTests : IDisposable
{
    private readonly DirectoryInfo root = Directory.CreateTempSubdirectory("bitactors-oversized");
    private readonly ActorSystem system = ActorSystem.Create("oversized-tests");
    private readonly EmbeddedKafka kafka = new();

    /// <summary>Seeded noise compresses badly: a 700×700 PNG is about 1.5 MB, over the producer's 1,000,000 bytes.</summary>
    private void WriteNoise(string relative, int size, SKEncodedImageFormat format = SKEncodedImageFormat.Png)
    {
        var random = new Random(size);
        using var bitmap = new SKBitmap(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque);
        var pixels = new byte[size * size * 4];
        random.NextBytes(pixels);
        for (int i = 3; i < pixels.Length; i += 4) pixels[i] = 255;
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        var path = Path.Combine(root.FullName, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var data = bitmap.Encode(format, 100);
        File.WriteAllBytes(path, data.ToArray());
    }

    [Fact]
    public async Task AnImageOverTheRecordLimitIsRefusedNamingItAndBothSizesAndNothingIsPublished()
    {
        WriteNoise("cat/small.png", 40);
        WriteNoise("dog/huge.png", 700);
        var bytes = new FileInfo(Path.Combine(root.FullName, "dog/huge.png")).Length;
        Assert.True(bytes > KafkaClients.MaxMessageBytes, $"test image is only {bytes} bytes");
        var dataset = ImageFolderDataset.Load("oversized", root.FullName);

        var e = await Assert.ThrowsAsync<OversizedImageException>(() => new DatasetPublisher(kafka, system.Materializer()).PublishAsync(dataset));
        Assert.Contains("dog/huge.png", e.Message);
        Assert.Contains("1,000,000 bytes", e.Message);                          // the limit
        Assert.Matches(@"dog/huge\.png \(1,[0-9]{3},[0-9]{3} bytes\)", e.Message); // the image's record size
        Assert.Contains("--resize-oversized", e.Message);
        Assert.DoesNotContain("small.png", e.Message);
        Assert.Null(DatasetCatalog.TryRead(kafka.Endpoint, "oversized"));
    }

    [Fact]
    public async Task WithResizeOversizedTheImageIsReEncodedSmallerAndTheOthersPassThrough()
    {
        WriteNoise("cat/small.png", 40);
        WriteNoise("dog/huge.png", 700);
        var dataset = ImageFolderDataset.Load("resized", root.FullName);
        var result = await new DatasetPublisher(kafka, system.Materializer(), options: new PublishOptions(ResizeOversized: 256)).PublishAsync(dataset);

        Assert.NotEqual(dataset.ContentHash, result.Manifest.ContentHash); // not the unresized dataset
        Assert.Equal(2, result.RecordsSent);
        var records = await KafkaRecordSource.Create(kafka.Endpoint, result.Manifest.Split("train")).RunWith(Sink.Seq<ImageRecord>(), system.Materializer());
        Assert.Equal(File.ReadAllBytes(Path.Combine(root.FullName, "cat/small.png")), records.Single(r => r.Index == 0).Value);
        using var resized = ImageCodec.Decode(records.Single(r => r.Index == 1).Value);
        Assert.Equal((256, 256), (resized.Width, resized.Height));
    }

    [Fact]
    public async Task TheRecordSizeEstimateNeverUndercountsWhatTheProducerChecks()
    {
        kafka.CreateTopic("limit", 1);
        var message = new Message<string, byte[]> { Key = "key", Value = [], Headers = [new Header("bit.labels", "1,2"u8.ToArray())] };
        message.Value = new byte[KafkaClients.MaxMessageBytes - MessageLimits.SizeOf(message)];
        Assert.Equal(KafkaClients.MaxMessageBytes, MessageLimits.SizeOf(message));
        using var producer = KafkaClients.CreateProducer(kafka.Endpoint);
        var report = await producer.ProduceAsync("limit", message); // at the estimated limit: accepted
        Assert.Equal(PersistenceStatus.Persisted, report.Status);
    }

    public void Dispose()
    {
        system.Terminate().Wait();
        kafka.Dispose();
        root.Delete(true);
    }
}
