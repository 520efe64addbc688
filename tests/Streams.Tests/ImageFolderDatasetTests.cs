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
        var published = await new DatasetPublisher(kafka, system.Materializer()).PublishAsync(dataset);
        var records = await KafkaRecordSource.Create(kafka.Endpoint, published.Manifest.Split("train")).RunWith(Sink.Seq<ImageRecord>(), system.Materializer());
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

    [Fact]
    public async Task ALabelFileGivesEachImageItsFolderClassFirstThenTheListedLabelsOnKafka()
    {
        Write("train/cat/a.png", SKEncodedImageFormat.Png);
        Write("train/dog/b.jpg", SKEncodedImageFormat.Jpeg);
        Write("train/fox/c.png", SKEncodedImageFormat.Png);
        Write("val/dog/d.png", SKEncodedImageFormat.Png);
        var labels = Path.Combine(root.FullName, "..", $"{root.Name}-labels.csv");
        File.WriteAllLines(labels, ["# path,labels", "train/cat/a.png,cat;fox", "train/dog/b.jpg\tfox ; cat", "", "train/fox/c.png,fox", "./val/dog/d.png,dog;cat;fox"]);
        try
        {
            var dataset = ImageFolderDataset.Load("multi", root.FullName, labels);
            Assert.True(dataset.MultiLabel);
            Assert.NotEqual(ImageFolderDataset.Load("multi", root.FullName).ContentHash, dataset.ContentHash);

            using var kafka = new EmbeddedKafka();
            var result = await new DatasetPublisher(kafka, system.Materializer()).PublishAsync(dataset);
            Assert.True(DatasetCatalog.Read(kafka.Endpoint, "multi").MultiLabel);
            var train = await KafkaRecordSource.Create(kafka.Endpoint, result.Manifest.Split("train")).RunWith(Sink.Seq<ImageRecord>(), system.Materializer());
            Assert.Equal(new[] { "0,2", "1,2,0", "2" }, train.OrderBy(r => r.Index).Select(r => string.Join(',', r.Labels)));
            var val = await KafkaRecordSource.Create(kafka.Endpoint, result.Manifest.Split("val")).RunWith(Sink.Seq<ImageRecord>(), system.Materializer());
            Assert.Equal(new[] { 1, 0, 2 }, val.Single().Labels);
        }
        finally { File.Delete(labels); }
    }

    [Theory]
    [InlineData("train/cat/a.png,cat;zebra\ntrain/dog/b.png,dog", ":1: unknown class 'zebra'")]
    [InlineData("train/cat/a.png,cat\ntrain/dog/b.png,dog\ntrain/dog/x.png,dog", ":3: 'train/dog/x.png' is not an image of the tree")]
    [InlineData("train/cat/a.png,cat\n\ntrain/cat/a.png,dog", ":3: 'train/cat/a.png' is listed again (first on line 1)")]
    [InlineData("train/cat/a.png,cat\ntrain/dog/b.png,", ":2: 'train/dog/b.png' has no labels")]
    [InlineData("train/cat/a.png,cat", " has no line for 1 image(s) of the tree; every image needs its labels: train/dog/b.png")]
    public void ALabelFileThatDoesNotMatchTheTreeIsRefusedNamingFileAndLine(string content, string expected)
    {
        Write("train/cat/a.png", SKEncodedImageFormat.Png);
        Write("train/dog/b.png", SKEncodedImageFormat.Png);
        var labels = Path.Combine(root.FullName, "..", $"{root.Name}-labels.csv");
        File.WriteAllText(labels, content);
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => ImageFolderDataset.Load("bad-labels", root.FullName, labels));
            Assert.Contains(labels + expected, e.Message);
        }
        finally { File.Delete(labels); }
    }

    public void Dispose()
    {
        system.Terminate().Wait();
        root.Delete(true);
    }
}
