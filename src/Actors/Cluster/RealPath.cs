namespace BitActors.Actors.Cluster;

/// <summary>
/// Where a path really leads: absolute, <c>..</c> removed and every symbolic link along it followed (as realpath(3)
/// does; parts that do not exist yet are kept as written). A check of "inside this folder" on anything less is fooled
/// by a link.
/// </summary>
internal static class RealPath
{
    /// <summary>Links followed before a path is taken as a loop (Linux's own limit).</summary>
    private const int MaxLinks = 40;

    public static string Of(string path)
    {
        var links = 0;
        return Of(path, ref links);
    }

    private static string Of(string path, ref int links)
    {
        var full = Path.GetFullPath(path);
        var root = Path.GetPathRoot(full)!;
        var current = root;
        foreach (var part in full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            var next = Path.Combine(current, part);
            if (new FileInfo(next).LinkTarget is { } target)
            {
                if (++links > MaxLinks) throw new IOException($"{path}: too many levels of symbolic links");
                // A relative target is relative to the link's folder; the target itself may pass through links.
                next = Of(Path.IsPathRooted(target) ? target : Path.Combine(current, target), ref links);
            }
            current = next;
        }
        return current;
    }
}
