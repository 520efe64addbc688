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
        var path = store.Fetch(artifact);
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
        var e = Assert.Throws<CorruptCheckpointException>(() => store.Fetch(artifact));
        Assert.Contains(path, e.Message);
        Assert.Contains(artifact.Sha256[..16], e.Message);
        File.Delete(path);
        Assert.Contains("missing on this node", Assert.Throws<FileNotFoundException>(() => store.Fetch(artifact)).Message);
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

    [Fact]
    public void AnArtifactOutsideTheStoreIsRefusedByPathDotDotOrSymbolicLink()
    {
        var store = ArtifactStore.At(Path.Combine(dir.FullName, "store"));
        var secret = Path.Combine(dir.FullName, "secret.bin");
        File.WriteAllBytes(secret, [7, 7, 7]);
        var (sha, bytes) = CheckpointFiles.Hash(secret);
        // Each reference has the file's true hash and size: only where it lies can refuse it.
        var byPath = new ArtifactRef(new Uri(secret).AbsoluteUri, sha, bytes);
        var byDotDot = new ArtifactRef($"file://{store.Root}/run/../../secret.bin", sha, bytes);
        var link = store.PathOf("run/tasks/a/link.bin");
        File.CreateSymbolicLink(link, secret);
        var folderLink = Path.Combine(store.Root, "run", "outside");
        Directory.CreateSymbolicLink(folderLink, dir.FullName);
        var byLink = new ArtifactRef(new Uri(link).AbsoluteUri, sha, bytes);
        var byFolderLink = new ArtifactRef(new Uri(Path.Combine(folderLink, "secret.bin")).AbsoluteUri, sha, bytes);
        foreach (var artifact in new[] { byPath, byDotDot, byLink, byFolderLink })
        {
            var e = Assert.Throws<UnauthorizedAccessException>(() => store.Fetch(artifact));
            Assert.Contains("outside the artifact store", e.Message);
            Assert.Contains(store.Root, e.Message);
        }
        // A link that stays inside the store is followed.
        var inside = store.PathOf("run/backbone/backbone.bin");
        File.WriteAllBytes(inside, [1, 2]);
        var insideLink = Path.Combine(store.Root, "run", "latest.bin");
        File.CreateSymbolicLink(insideLink, inside);
        Assert.Equal(insideLink, store.Fetch(new ArtifactRef(new Uri(insideLink).AbsoluteUri, CheckpointFiles.Hash(inside).Sha256, 2)));
    }
}
