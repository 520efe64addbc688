using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using BitActors.Streams.Datasets;
using BitActors.Streams.Images;
using BitActors.Streams.Kafka;
using SkiaSharp;

namespace BitActors.Streams.Tests;

public sealed class ImageFolderDatasetTests : IDisposable
{
    private readonly DirectoryInfo root = Directory.CreateTempSubdirectory("bitactors-imagefolder");
    private readonly ActorSystem system = ActorSystem.Create("imagefolder-tests");

    private void Write(string relative, SKEncodedImageFormat format, int size = 40)
    {
        var path = Path.Combine(root.FullName, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var bitmap = new SKBitmap(size, size);
        bitmap.Erase(SKColors.Coral);
        using var data = bitmap.Encode(format, 90);
        File.WriteAllBytes(path, data.ToArray());
    }

    [Fact]
    public async Task SplitAndClassFoldersBecomeSplitsAndClassIdsAndTheBytesArePublishedAsTheyAre()
    {
        Write("train/cat/a.jpg", SKEncodedImageFormat.Jpeg);
        Write("train/cat/b.png", SKEncodedImageFormat.Png);
        Write("train/dog/c.jpg", SKEncodedImageFormat.Jpeg);
        Write("val/dog/d.png", SKEncodedImageFormat.Png);
        var dataset = ImageFolderDataset.Load("pets", root.FullName);
        Assert.Equal(["cat", "dog"], dataset.Classes);
        Assert.Equal(["train", "val"], dataset.Splits.Select(s => s.Name));
        Assert.Equal(new[] { 0, 0, 1 }, dataset.Splits[0].Images.Select(i => i.Labels[0]));
        Assert.Equal(["image/jpeg", "image/png", "image/jpeg"], dataset.Splits[0].Images.Select(i => i.ContentType));
        Assert.Equal((40, 40), (dataset.ImageHeight, dataset.ImageWidth));

        using var kafka = new EmbeddedKafka();
        await new DatasetPublisher(kafka, system.Materializer()).PublishAsync(dataset);
        var records = await KafkaRecordSource.Create(kafka.BootstrapServers, "bit.data.pets.train").RunWith(Sink.Seq<ImageRecord>(), system.Materializer());
        Assert.Equal(File.ReadAllBytes(Path.Combine(root.FullName, "train/cat/a.jpg")), records.Single(r => r.Index == 0).Value);
        using var decoded = ImageCodec.Decode(records.Single(r => r.Index == 2).Value);
        Assert.Equal(40, decoded.Width);
    }

    [Fact]
    public void ClassFoldersAloneMakeOneTrainSplit()
    {
        Write("cat/a.png", SKEncodedImageFormat.Png);
        Write("dog/b.png", SKEncodedImageFormat.Png);
        var dataset = ImageFolderDataset.Load("flat", root.FullName);
        Assert.Equal("train", dataset.Splits.Single().Name);
        Assert.Equal(2, dataset.Splits[0].Images.Count);
    }

    [Fact]
    public void FilesThatAreNotImagesAreRefusedByName()
    {
        Write("cat/a.png", SKEncodedImageFormat.Png);
        Directory.CreateDirectory(Path.Combine(root.FullName, "dog"));
        File.WriteAllText(Path.Combine(root.FullName, "dog", "notes.txt"), "not an image");
        var e = Assert.Throws<InvalidDataException>(() => ImageFolderDataset.Load("bad", root.FullName));
        Assert.Contains("notes.txt", e.Message);
        Assert.Contains("nothing was published", e.Message);
    }

    public void Dispose()
    {
        system.Terminate().Wait();
        root.Delete(true);
    }
}
