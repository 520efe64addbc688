using Akka.Actor;
using Akka.Streams;
using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;

namespace BitActors.Streams.Tests;

/// <summary>
/// The bad-input corpus at publish time: each bad input is refused with a reason naming it, before
/// anything is published; the good inputs of the same dataset publish once the bad ones are gone.
/// </summary>
public sealed class BadInputPublishTests : IDisposable
{
    private readonly DirectoryInfo root = Directory.CreateTempSubdirectory("bitactors-bad-imagefolder");
    private readonly DirectoryInfo outside = Directory.CreateTempSubdirectory("bitactors-outside");
    private readonly ActorSystem system = ActorSystem.Create("bad-input-publish-tests");

    private string Write(string relative, byte[] bytes)
    {
        var path = Path.Combine(root.FullName, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public async Task AnImageFolderWithBadFilesIsRefusedNamingEachAndItsReasonAndTheGoodFilesPublishAlone()
    {
        Write("train/cat/good1.png", BadImages.Png(seed: 1));
        Write("train/cat/good2.jpg", BadImages.Jpeg(seed: 2));
        Write("train/dog/good3.png", BadImages.Png(seed: 3));
        var bad = new Dictionary<string, string>
        {
            [Write("train/cat/truncated.png", BadImages.TruncatedPng())] = "corrupt or truncated",
            [Write("train/cat/truncated.jpg", BadImages.TruncatedJpeg())] = "corrupt or truncated",
            [Write("train/dog/random.bin", BadImages.RandomBytes())] = "not a decodable image",
            [Write("train/dog/empty.png", [])] = "not a decodable image",
            [Write("train/dog/bomb.png", BadImages.PngClaiming(50_000, 50_000))] = "50000×50000",
        };
        var secret = Path.Combine(outside.FullName, "secret.png");
        File.WriteAllBytes(secret, BadImages.Png(seed: 4));
        var fileLink = Path.Combine(root.FullName, "train/dog/link.png");
        File.CreateSymbolicLink(fileLink, secret);
        bad[fileLink] = "symlink leading outside the root";
        var folderLink = Path.Combine(root.FullName, "train/bird");
        Directory.CreateSymbolicLink(folderLink, outside.FullName);
        bad[folderLink] = "symlink leading outside the root";

        var e = Assert.Throws<InvalidDataException>(() => ImageFolderDataset.Load("bad-tree", root.FullName));
        Assert.Contains($"{bad.Count} file(s)", e.Message);
        Assert.Contains("nothing was published", e.Message);
        foreach (var (path, reason) in bad)
        {
            var part = e.Message.Split("; ").SingleOrDefault(p => p.Contains(path + ": "));
            Assert.True(part is not null && part.Contains(reason), $"'{path}' should be refused for '{reason}': {e.Message}");
        }
        Assert.DoesNotContain("good", e.Message);

        // The rest goes on: without the bad inputs, the good ones publish and are verified.
        foreach (var path in bad.Keys)
        {
            if (Directory.Exists(path)) Directory.Delete(path);
            else File.Delete(path);
        }
        var dataset = ImageFolderDataset.Load("good-tree", root.FullName);
        using var kafka = new EmbeddedKafka();
        var result = await new DatasetPublisher(kafka, system.Materializer()).PublishAsync(dataset);
        Assert.Equal(3, result.Manifest.Split("train").Records);
    }

    [Fact]
    public void AFolderLinkedInsideTheRootIsNotRefused()
    {
        Write("train/cat/a.png", BadImages.Png(seed: 1));
        Write("train/dog/b.png", BadImages.Png(seed: 2));
        File.CreateSymbolicLink(Path.Combine(root.FullName, "train/dog/again.png"), Path.Combine(root.FullName, "train/cat/a.png"));
        var dataset = ImageFolderDataset.Load("inside", root.FullName);
        Assert.Equal(3, dataset.Splits.Single().Images.Count);
    }

    private static DatasetSource Dataset(params LabelledImage[] images) =>
        new("checked", ["a", "b", "c"], 24, 24, 3, false, "hash-" + Guid.NewGuid(), [new DatasetSplit("train", images)]);

    [Fact]
    public async Task DuplicateIndexesMissingOrOutOfRangeLabelsAndEmptyValuesAreRefusedBeforeAnythingIsPublished()
    {
        var png = BadImages.Png();
        var dataset = Dataset(
            new LabelledImage(0, [0], png),
            new LabelledImage(1, [1], png),
            new LabelledImage(1, [2], png),        // duplicate index = duplicate key
            new LabelledImage(2, [], png),         // missing label
            new LabelledImage(3, [3], png),        // out of range (3 classes)
            new LabelledImage(4, [-1], png),       // out of range
            new LabelledImage(5, [0], []));        // empty value
        using var kafka = new EmbeddedKafka();
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => new DatasetPublisher(kafka, system.Materializer()).PublishAsync(dataset));
        Assert.Contains("5 problem(s)", e.Message);
        Assert.Contains("train #1: duplicate index (record key checked/train/00000001", e.Message);
        Assert.Contains("train #2: no label", e.Message);
        Assert.Contains("train #3: label 3 is outside the dataset's 3 classes", e.Message);
        Assert.Contains("train #4: label -1 is outside", e.Message);
        Assert.Contains("train #5: empty image", e.Message);
        Assert.Contains("nothing was published", e.Message);
        using var admin = KafkaClients.CreateAdmin(kafka.Endpoint);
        Assert.Equal(0, KafkaClients.PartitionCount(admin, "bit.data.checked.train", TimeSpan.FromSeconds(5)));
        Assert.Null(DatasetCatalog.TryRead(kafka.Endpoint, "checked"));
    }

    /// <summary>Files no publish may hang or crash on: a FIFO (opening it blocks), a symlink loop, a dangling symlink, garbage.</summary>
    private Dictionary<string, string> WriteHostileFiles()
    {
        Write("train/cat/good1.png", BadImages.Png(seed: 1));
        Write("train/cat/good2.png", BadImages.Png(seed: 2));
        Write("train/dog/good3.jpg", BadImages.Jpeg(seed: 3));
        var fifo = Path.Combine(root.FullName, "train/cat/pipe.png");
        Assert.Equal(0, Mono.Unix.Native.Syscall.mkfifo(fifo, Mono.Unix.Native.FilePermissions.DEFFILEMODE));
        var loop = Path.Combine(root.FullName, "train/dog/loop.png");
        File.CreateSymbolicLink(loop, Path.Combine(root.FullName, "train/dog/loop2.png"));
        File.CreateSymbolicLink(Path.Combine(root.FullName, "train/dog/loop2.png"), loop);
        var dangling = Path.Combine(root.FullName, "train/dog/gone.png");
        File.CreateSymbolicLink(dangling, Path.Combine(root.FullName, "train/dog/nothing-here.png"));
        return new()
        {
            [fifo] = "a FIFO (named pipe)",
            [loop] = "a symlink loop",
            [Path.Combine(root.FullName, "train/dog/loop2.png")] = "a symlink loop",
            [dangling] = "a dangling symlink",
            [Write("train/dog/random.bin", BadImages.RandomBytes())] = "not a decodable image",
        };
    }

    [Fact]
    public async Task FifosSymlinkLoopsAndDanglingLinksAreNamedAndNeverHangThePublish()
    {
        var bad = WriteHostileFiles();
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => Task.Run(() => ImageFolderDataset.Load("hostile", root.FullName)).WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains($"{bad.Count} file(s)", e.Message);
        Assert.Contains("--skip-invalid", e.Message);
        foreach (var (path, reason) in bad)
            Assert.True(e.Message.Split("; ").Any(p => p.Contains(path + ": ") && p.Contains(reason)), $"'{path}' should be named for '{reason}': {e.Message}");
    }

    [Fact]
    public async Task WithSkipInvalidTheGoodImagesPublishAndEveryBadOneIsListedAndCounted()
    {
        var bad = WriteHostileFiles();
        using var kafka = new EmbeddedKafka();
        var result = await Task.Run(async () =>
        {
            var dataset = ImageFolderDataset.Load("skipping", root.FullName, skipInvalid: true);
            return await new DatasetPublisher(kafka, system.Materializer(), options: new PublishOptions(SkipInvalid: true)).PublishAsync(dataset);
        }).WaitAsync(TimeSpan.FromSeconds(90));

        var split = result.Manifest.Split("train");
        Assert.Equal(3, split.Records);
        Assert.Equal(bad.Count, split.Skipped);
        Assert.Equal(new long[] { 2, 1 }, split.ClassCounts!);
        Assert.Equal(bad.Count, result.Skipped!.Count);
        foreach (var (path, reason) in bad)
            Assert.Contains(result.Skipped, s => s.Origin == path && s.Reason.Contains(reason));
        Assert.Equal(3, DatasetCatalog.CountRecords(kafka.Endpoint, split.Topic, split.Partitions).Sum());
    }

    [Fact]
    public async Task WithSkipInvalidImagesOverTheRecordLimitAndBadLabelsAreLeftOutByName()
    {
        var small = BadImages.Png(size: 8);
        var large = BadImages.Png(size: 64);
        var dataset = Dataset(
            new LabelledImage(0, [0], small),
            new LabelledImage(1, [1], large, Origin: "dog/large.png"),   // over the limit set below
            new LabelledImage(2, [7], small),                             // out of range
            new LabelledImage(3, [2], small));
        using var kafka = new EmbeddedKafka();
        long limit = small.Length + 200;
        var refused = await Assert.ThrowsAsync<InvalidDataException>(() => new DatasetPublisher(kafka, system.Materializer(), options: new PublishOptions(MaxRecordBytes: limit)).PublishAsync(dataset));
        Assert.Contains("train #2: label 7 is outside", refused.Message);

        var result = await new DatasetPublisher(kafka, system.Materializer(), options: new PublishOptions(MaxRecordBytes: limit, SkipInvalid: true)).PublishAsync(dataset);
        var split = result.Manifest.Split("train");
        Assert.Equal(2, split.Records);
        Assert.Equal(2, split.Skipped);
        Assert.Equal(new long[] { 1, 0, 1 }, split.ClassCounts!);
        Assert.Contains(result.Skipped!, s => s.Origin == "dog/large.png" && s.Reason.StartsWith("over the record limit"));
        Assert.Contains(result.Skipped!, s => s.Origin == "train image #2" && s.Reason.Contains("label 7"));
        Assert.NotEqual(dataset.ContentHash, result.Manifest.ContentHash);   // not the whole dataset

        // The same publish again is recognised as the one already there (its hash covers what was left out).
        var again = await new DatasetPublisher(kafka, system.Materializer(), options: new PublishOptions(MaxRecordBytes: limit, SkipInvalid: true)).PublishAsync(dataset);
        Assert.True(again.AlreadyPublished);
        Assert.Equal(result.Manifest.ContentHash, again.Manifest.ContentHash);
        var other = Dataset(new LabelledImage(0, [0], small), new LabelledImage(1, [1], BadImages.Png(size: 9)));
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => new DatasetPublisher(kafka, system.Materializer(), options: new PublishOptions(MaxRecordBytes: limit, SkipInvalid: true)).PublishAsync(other));
        Assert.Contains("already published with other content", e.Message);
    }

    public void Dispose()
    {
        system.Terminate().Wait();
        root.Delete(true);
        outside.Delete(true);
    }
}
