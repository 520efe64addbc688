using BitActors.Model.Checkpoints;

namespace BitActors.Actors.Cluster;

/// <summary>A file in the artifact store, by URI, with the sha256 and size it must have when another node loads it.</summary>
public sealed record ArtifactRef(string Uri, string Sha256, long Bytes);

/// <summary>
/// Where checkpoints and backbones travel between nodes: a location given by URI. <c>file://</c> (a path every
/// node mounts: NFS, a shared volume, a Kubernetes ReadWriteMany claim) is the one scheme served; anything a node
/// reads from the store is checked against the sha256 the writer recorded before it is used.
/// </summary>
public sealed class ArtifactStore
{
    private ArtifactStore(string root) => Root = root;

    /// <summary>The local folder behind the store.</summary>
    public string Root { get; }

    public Uri Uri => new(Root.EndsWith('/') ? Root : Root + "/");

    /// <summary>A store at <paramref name="location"/>: a <c>file://</c> URI or a plain path (taken as a shared folder).</summary>
    public static ArtifactStore At(string location)
    {
        if (string.IsNullOrWhiteSpace(location)) throw new ArgumentException("artifact location is empty: give a file:// URI or a shared path");
        if (Path.IsPathRooted(location) || !location.Contains("://", StringComparison.Ordinal))
            return new ArtifactStore(Path.GetFullPath(location));
        if (!System.Uri.TryCreate(location, UriKind.Absolute, out var uri))
            throw new ArgumentException($"artifact location '{location}' is not a valid URI");
        if (!uri.IsFile)
            throw new NotSupportedException($"artifact location '{location}': the {uri.Scheme}:// scheme is not supported; mount the storage on every node and give its path as file:///PATH");
        return new ArtifactStore(Path.GetFullPath(uri.LocalPath));
    }

    /// <summary>The local path of <paramref name="relative"/> inside the store (folders created).</summary>
    public string PathOf(string relative)
    {
        var full = Path.GetFullPath(Path.Combine(Root, relative));
        if (!Inside(full)) throw new ArgumentException($"'{relative}' leaves the artifact store");
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        return full;
    }

    private bool Inside(string fullPath) => fullPath.StartsWith(Root.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>A file already in the store, described for other nodes (its hash computed now).</summary>
    public ArtifactRef Describe(string localPath)
    {
        var full = Path.GetFullPath(localPath);
        if (!Inside(full)) throw new ArgumentException($"{localPath} is not inside the artifact store {Root}");
        var (sha, bytes) = CheckpointFiles.Hash(full);
        return new ArtifactRef(new Uri(full).AbsoluteUri, sha, bytes);
    }

    /// <summary>
    /// Copies a file from outside into the store under <paramref name="relative"/> (with a sha256 file beside it),
    /// unless it is already there; the source's own sha256 file, when present, is checked first.
    /// </summary>
    public ArtifactRef Import(string source, string relative)
    {
        CheckpointFiles.VerifyHash(source);
        var full = Path.GetFullPath(source);
        if (Inside(full)) return Describe(full);
        var target = PathOf(relative);
        var (sha, bytes) = CheckpointFiles.Hash(full);
        if (!File.Exists(target) || CheckpointFiles.Hash(target).Sha256 != sha)
        {
            File.Copy(full, target + ".partial", overwrite: true);
            File.Move(target + ".partial", target, overwrite: true);
        }
        CheckpointFiles.WriteHashBeside(target, sha);
        return new ArtifactRef(new Uri(target).AbsoluteUri, sha, bytes);
    }

    /// <summary>
    /// The local path of an artifact, after checking that it lies inside this store (its path resolved, <c>..</c> and
    /// symbolic links included: an artifact reference comes over the network) and that the file there has the recorded
    /// size and sha256: a path outside the store, or a missing or changed file, is refused, naming it (and both hashes).
    /// </summary>
    public string Fetch(ArtifactRef artifact)
    {
        if (!System.Uri.TryCreate(artifact.Uri, UriKind.Absolute, out var uri) || !uri.IsFile || uri.IsUnc)
            throw new NotSupportedException($"artifact {artifact.Uri}: only file:// artifacts can be loaded");
        var path = Confined(artifact.Uri, uri.LocalPath);
        if (!File.Exists(path)) throw new FileNotFoundException($"artifact {artifact.Uri} is missing on this node (is the artifact location shared by every node?)", path);
        var (sha, bytes) = CheckpointFiles.Hash(path);
        if (sha != artifact.Sha256 || bytes != artifact.Bytes)
            throw new CorruptCheckpointException($"artifact {path} does not match what was recorded: sha256 {sha[..16]}… ({bytes:N0} bytes), expected {artifact.Sha256[..Math.Min(16, artifact.Sha256.Length)]}… ({artifact.Bytes:N0} bytes)");
        return path;
    }

    /// <summary>
    /// <paramref name="path"/> when it resolves (<c>..</c> and symbolic links followed) to a place inside the store's
    /// own resolved root; anything else is refused, naming where it leads.
    /// </summary>
    private string Confined(string uri, string path)
    {
        var (resolved, root) = (RealPath.Of(path), RealPath.Of(Root).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar);
        if (!resolved.StartsWith(root, StringComparison.Ordinal))
            throw new UnauthorizedAccessException($"artifact {uri} is outside the artifact store {Root} (it resolves to {resolved}): refused");
        return path;
    }
}
