using BitActors.Streams.Datasets;
using BitActors.Streams.Images;

namespace BitActors.Streams.Tests;

public sealed class CifarDatasetTests : IDisposable
{
    private readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("bitactors-cifar");

    /// <summary>Records whose red plane is 10·label, green 100, blue 200.</summary>
    private void WriteBatch(string file, int records, int labelBytes, int seed)
    {
        var bytes = new List<byte>();
        for (int i = 0; i < records; i++)
        {
            int label = (i + seed) % 10;
            if (labelBytes == 2) bytes.Add((byte)(label / 5));
            bytes.Add((byte)label);
            bytes.AddRange(Enumerable.Repeat((byte)(10 * label), 1024));
            bytes.AddRange(Enumerable.Repeat((byte)100, 1024));
            bytes.AddRange(Enumerable.Repeat((byte)200, 1024));
        }
        File.WriteAllBytes(Path.Combine(dir.FullName, file), bytes.ToArray());
    }

    [Fact]
    public void Cifar10BatchesBecomeTrainAndTestWithRgbPngsOfTheRightColours()
    {
        for (int b = 1; b <= 5; b++) WriteBatch($"data_batch_{b}.bin", 4, 1, b);
        WriteBatch("test_batch.bin", 3, 1, 0);
        File.WriteAllLines(Path.Combine(dir.FullName, "batches.meta.txt"), ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck", ""]);
        var dataset = CifarDataset.Load("c10", dir.FullName, cifar100: false);
        Assert.Equal(20, dataset.Splits.Single(s => s.Name == "train").Images.Count);
        Assert.Equal(3, dataset.Splits.Single(s => s.Name == "test").Images.Count);
        Assert.Equal("truck", dataset.Classes[9]);
        var image = dataset.Splits[0].Images[1];       // batch 1, record 1: label 2
        Assert.Equal(2, image.Labels[0]);
        using var decoded = ImageCodec.Decode(image.Encoded);
        var pixel = decoded.GetPixel(5, 7);
        Assert.Equal((20, 100, 200), ((int)pixel.Red, (int)pixel.Green, (int)pixel.Blue));
    }

    [Fact]
    public void Cifar100UsesTheFineLabel()
    {
        WriteBatch("train.bin", 6, 2, 3);
        WriteBatch("test.bin", 2, 2, 0);
        var dataset = CifarDataset.Load("c100", dir.FullName, cifar100: true);
        Assert.Equal(100, dataset.Classes.Count);
        Assert.Equal(new[] { 3, 4, 5, 6, 7, 8 }, dataset.Splits[0].Images.Select(i => i.Labels[0]));
    }

    [Fact]
    public void ATruncatedBatchIsRefusedByName()
    {
        for (int b = 1; b <= 5; b++) WriteBatch($"data_batch_{b}.bin", 2, 1, b);
        WriteBatch("test_batch.bin", 2, 1, 0);
        var path = Path.Combine(dir.FullName, "data_batch_3.bin");
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..5000]);
        var e = Assert.Throws<InvalidDataException>(() => CifarDataset.Load("bad", dir.FullName, cifar100: false));
        Assert.Contains("data_batch_3.bin", e.Message);
    }

    public void Dispose() => dir.Delete(true);
}
