namespace BitActors.Streams.Datasets;

/// <summary>
/// Several labels per image for an ImageFolder tree (<c>publish --labels FILE</c>). UTF-8 text, one line per
/// image: <c>PATH,LABELS</c> or <c>PATH&lt;TAB&gt;LABELS</c>, where PATH is the image's path relative to the
/// ImageFolder root with <c>/</c> (e.g. <c>train/cat/001.jpg</c>) and LABELS are class names (class folder
/// names) separated by <c>;</c>. The line is split at its last tab, or when it has none at its last comma.
/// Blank lines and lines starting with <c>#</c> are skipped. An image's folder class is always its first
/// (primary) label; the labels listed add to it. Unknown class names, paths that are not images of the
/// tree, repeated paths and images without a line are refused, naming the file and line.
/// </summary>
public sealed class LabelFile
{
    private readonly Dictionary<string, (int Line, string[] Names)> entries;

    private LabelFile(string path, Dictionary<string, (int, string[])> entries) => (Path, this.entries) = (path, entries);

    public string Path { get; }

    public static LabelFile Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"label file not found: {path}", path);
        var entries = new Dictionary<string, (int, string[])>(StringComparer.Ordinal);
        int number = 0;
        foreach (var raw in File.ReadLines(path))
        {
            number++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            int cut = line.LastIndexOf('\t') is >= 0 and var tab ? tab : line.LastIndexOf(',');
            if (cut <= 0) throw new InvalidDataException($"{path}:{number}: expected 'PATH,LABELS' (labels separated by ';'), got '{raw}'");
            var image = Normalize(line[..cut].Trim());
            var names = line[(cut + 1)..].Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (names.Length == 0) throw new InvalidDataException($"{path}:{number}: '{image}' has no labels");
            if (entries.TryGetValue(image, out var first))
                throw new InvalidDataException($"{path}:{number}: '{image}' is listed again (first on line {first.Item1})");
            entries[image] = (number, names);
        }
        return new LabelFile(path, entries);
    }

    /// <summary>
    /// Labels of every image (folder class first, then the listed ones in order, without repeats), keyed by
    /// the relative path; checks the file against the tree and the class names.
    /// </summary>
    public IReadOnlyDictionary<string, int[]> Resolve(IReadOnlyCollection<(string Relative, int FolderClass)> images, IReadOnlyList<string> classes)
    {
        var ids = classes.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => x.i, StringComparer.Ordinal);
        var known = images.ToDictionary(i => Normalize(i.Relative), i => i.FolderClass, StringComparer.Ordinal);
        foreach (var (image, (line, names)) in entries)
        {
            if (!known.ContainsKey(image))
                throw new InvalidDataException($"{Path}:{line}: '{image}' is not an image of the tree (paths are relative to the ImageFolder root, e.g. 'train/cat/001.jpg')");
            foreach (var name in names)
                if (!ids.ContainsKey(name))
                    throw new InvalidDataException($"{Path}:{line}: unknown class '{name}' for '{image}' (classes are the class folders: {string.Join(", ", classes)})");
        }
        var missing = known.Keys.Where(k => !entries.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"{Path} has no line for {missing.Count} image(s) of the tree; every image needs its labels: " +
                string.Join(", ", missing.Take(10)) + (missing.Count > 10 ? ", …" : ""));
        return known.ToDictionary(k => k.Key, k => new[] { k.Value }.Concat(entries[k.Key].Names.Select(n => ids[n])).Distinct().ToArray(), StringComparer.Ordinal);
    }

    public static string Normalize(string relative)
    {
        var path = relative.Replace('\\', '/');
        while (path.StartsWith("./", StringComparison.Ordinal)) path = path[2..];
        return path;
    }
}
