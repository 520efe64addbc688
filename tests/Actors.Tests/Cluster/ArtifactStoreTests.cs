using BitActors.Actors.Cluster;
using BitActors.Model.Checkpoints;

namespace BitActors.Actors.Tests.Cluster;

public sealed class ArtifactStoreTests : IDisposable
{
    private readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("bitactors-store");

    public void Dispose() => dir.Delete(recursive: true);

    [Fact]
    public void AnImportedFileIsFetchedByItsUriAfterItsHashIsChecked()
    {
        var store = ArtifactStore.At(new Uri(Path.Combine(dir.FullName, "store")).AbsoluteUri);
        var source = Path.Combine(dir.FullName, "backbone.bin");
        File.WriteAllBytes(source, [1, 2, 3, 4]);
        var artifact = store.Import(source, "run/backbone/backbone.bin");
        Assert.StartsWith("file://", artifact.Uri);
        Assert.Equal(4, artifact.Bytes);
        var path = ArtifactStore.Fetch(artifact);
        Assert.Equal(Path.Combine(store.Root, "run", "backbone", "backbone.bin"), path);
        Assert.Equal([1, 2, 3, 4], File.ReadAllBytes(path));
        Assert.True(File.Exists(CheckpointFiles.HashPath(path)));
        Assert.Equal(artifact, store.Import(source, "run/backbone/backbone.bin")); // again: the same artifact
    }

    [Fact]
    public void AFileChangedInTheStoreIsRefusedNamingItAndBothHashes()
    {
        var store = ArtifactStore.At(Path.Combine(dir.FullName, "store"));
        var path = store.PathOf("run/tasks/a/step10.bin");
        File.WriteAllBytes(path, [1, 2, 3]);
        var artifact = store.Describe(path);
        File.WriteAllBytes(path, [1, 2, 4]);
        var e = Assert.Throws<CorruptCheckpointException>(() => ArtifactStore.Fetch(artifact));
        Assert.Contains(path, e.Message);
        Assert.Contains(artifact.Sha256[..16], e.Message);
        File.Delete(path);
        Assert.Contains("missing on this node", Assert.Throws<FileNotFoundException>(() => ArtifactStore.Fetch(artifact)).Message);
    }

    [Fact]
    public void OnlySharedPathsAreServedAndNothingLeavesTheStore()
    {
        var e = Assert.Throws<NotSupportedException>(() => ArtifactStore.At("s3://bucket/bitactors"));
        Assert.Contains("s3:// scheme is not supported", e.Message);
        var store = ArtifactStore.At(dir.FullName);
        Assert.Throws<ArgumentException>(() => store.PathOf("../elsewhere.bin"));
        Assert.Throws<ArgumentException>(() => ArtifactStore.At(" "));
    }
}
