using System.Security.Cryptography;
using BitActors.Streams.Images;
using SkiaSharp;

namespace BitActors.Streams.Datasets;

/// <summary>
/// An ImageFolder tree: <c>ROOT/&lt;split&gt;/&lt;class&gt;/&lt;image&gt;</c> (splits are the sub-folders that hold
/// class folders, e.g. train/test/val), or <c>ROOT/&lt;class&gt;/&lt;image&gt;</c> as a single <c>train</c> split.
/// Classes are the folder names in ordinal order (ids 0..K-1, the same in every split); indexes are assigned
/// class folder by class folder. Image bytes are published as they are (JPEG/PNG/BMP/WebP/GIF).
/// <para>
/// Loading streams: the files are listed (path, labels, content type per image: the only thing that grows
/// with the image count), then checked in a first pass — each read and decoded once, <c>parallelism</c> at
/// a time, in windows, the content hash fed in index order — and the split reads each file again when it is
/// published. A bad file (undecodable, truncated, a decompression bomb, a FIFO, a symlink loop or leading
/// outside the root, unreadable) refuses the whole tree naming every one, or with <c>skipInvalid</c> is left
/// out and listed in <see cref="DatasetSplit.Skipped"/>.
/// </para>
/// With a <see cref="LabelFile"/> the dataset is multi-label: each image gets its folder class and the labels listed.
/// </summary>
public static class ImageFolderDataset
{
    /// <summary>The largest file read as an image (larger ones are named, never read into memory).</summary>
    public const long MaxFileBytes = 256L << 20;

    /// <summary>Images checked per worker in one window: enough that a slow image rarely idles the others.</summary>
    private const int Window = 16;

    /// <summary>Distinct image sizes counted to find the most common one (bounded, whatever the tree).</summary>
    private const int SizesCounted = 4096;

    private static readonly Dictionary<SKEncodedImageFormat, string> ContentTypes = new()
    {
        [SKEncodedImageFormat.Jpeg] = "image/jpeg",
        [SKEncodedImageFormat.Png] = "image/png",
        [SKEncodedImageFormat.Bmp] = "image/bmp",
        [SKEncodedImageFormat.Webp] = "image/webp",
        [SKEncodedImageFormat.Gif] = "image/gif",
    };

    /// <summary>A listed file: where it is, its labels and (once checked) its content type.</summary>
    private sealed record Entry(string File, string Relative, int[] Labels)
    {
        public string ContentType { get; set; } = "";
    }

    public static DatasetSource Load(string name, string root, string? labelsFile = null, bool skipInvalid = false, int parallelism = 0)
    {
        var labelFile = labelsFile is null ? null : LabelFile.Read(labelsFile);
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"ImageFolder root not found: {root}");
        var subfolders = Directory.GetDirectories(root).OrderBy(d => d, StringComparer.Ordinal).ToArray();
        if (subfolders.Length == 0) throw new InvalidDataException($"{root} has no class folders");
        // A split folder holds class folders; a class folder holds images.
        bool hasSplits = subfolders.All(d => Directory.GetDirectories(d).Length > 0);
        var splitRoots = hasSplits ? subfolders.Select(d => (Name: Path.GetFileName(d), Path: d)).ToArray() : [("train", root)];
        var classes = splitRoots.SelectMany(s => Directory.GetDirectories(s.Path).Select(Path.GetFileName))
            .Distinct().Order(StringComparer.Ordinal).Select(c => c!).ToList();
        var classIds = classes.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => x.i);
        var rootPath = Path.GetFullPath(root);
        var realRoot = RealPath(root);

        // The listing: every split's files in index order, with the bad folders and links found on the way.
        var listed = new List<(string Split, List<Entry> Files, List<SkippedImage> Bad)>();
        foreach (var (split, path) in splitRoots)
        {
            var bad = new List<SkippedImage>();
            var classFolders = Directory.GetDirectories(path).OrderBy(d => d, StringComparer.Ordinal).ToList();
            foreach (var folder in classFolders.Prepend(path).Where(d => Outside(d, realRoot) is true))
                bad.Add(new(folder, $"a symlink leading outside the root, to {RealPath(folder)}"));
            var files = new List<Entry>();
            foreach (var folder in classFolders.Where(d => Outside(d, realRoot) is false))
                foreach (var file in FilesOf(folder, bad))
                {
                    if (Outside(file, realRoot) is true) bad.Add(new(file, $"a symlink leading outside the root, to {RealPath(file)}"));
                    else files.Add(new(file, Path.GetRelativePath(rootPath, file).Replace('\\', '/'), [classIds[Path.GetFileName(folder)]]));
                }
            listed.Add((split, files, bad));
        }
        if (labelFile is not null)
        {
            var all = listed.SelectMany(s => s.Files).ToList();
            var labels = labelFile.Resolve(all.Select(e => (e.Relative, e.Labels[0])).ToList(), classes);
            foreach (var s in listed)
                for (int i = 0; i < s.Files.Count; i++) s.Files[i] = s.Files[i] with { Labels = labels[LabelFile.Normalize(s.Files[i].Relative)] };
        }

        // The first pass: every file read and decoded once; the hash fed in index order, whatever the parallelism.
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var sizes = new Dictionary<(int, int), int>();
        int workers = parallelism > 0 ? parallelism : Environment.ProcessorCount;
        var splits = new List<DatasetSplit>();
        foreach (var (split, files, bad) in listed)
        {
            var good = new List<Entry>(files.Count);
            foreach (var window in files.Chunk(workers * Window))
            {
                var checkedFiles = new (byte[]? Bytes, string? Reason, int Height, int Width)[window.Length];
                Parallel.For(0, window.Length, new ParallelOptions { MaxDegreeOfParallelism = workers }, i => checkedFiles[i] = Check(window[i]));
                for (int i = 0; i < window.Length; i++)
                {
                    var (bytes, reason, height, width) = checkedFiles[i];
                    if (reason is not null)
                    {
                        bad.Add(new(window[i].File, reason));
                        continue;
                    }
                    hash.AppendData(bytes!);
                    if (sizes.ContainsKey((height, width)) || sizes.Count < SizesCounted) sizes[(height, width)] = sizes.GetValueOrDefault((height, width)) + 1;
                    good.Add(window[i]);
                }
            }
            var images = good.ToArray();
            splits.Add(new DatasetSplit(split, images.Length, i => Read(images[i], i), bad));
        }
        var skipped = splits.SelectMany(s => s.Skipped!).ToList();
        if (skipped.Count > 0 && !skipInvalid)
            throw new InvalidDataException($"{skipped.Count} file(s) under {root} cannot be published; nothing was published: " +
                string.Join("; ", skipped.Take(10)) + (skipped.Count > 10 ? "; …" : "") + ". Publish with --skip-invalid to leave them out.");
        if (sizes.Count == 0) throw new InvalidDataException($"{root} holds no images" + (skipped.Count > 0 ? $" that can be published ({skipped.Count} skipped)" : ""));
        // The manifest's image size (the HyperRule reads it) is the most common one.
        var (imageHeight, imageWidth) = sizes.MaxBy(kv => kv.Value).Key;
        if (labelFile is not null) hash.AppendData(File.ReadAllBytes(labelFile.Path));
        return new DatasetSource(name, classes, imageHeight, imageWidth, 3, labelFile is not null, Convert.ToHexStringLower(hash.GetHashAndReset()), splits);
    }

    /// <summary>Reads and decodes one file: its bytes and size, or why it cannot be published.</summary>
    private static (byte[]? Bytes, string? Reason, int Height, int Width) Check(Entry entry)
    {
        byte[] bytes;
        try { bytes = SourceFiles.Read(entry.File, MaxFileBytes); }
        catch (InvalidImageException e) { return (null, e.Reason, 0, 0); }
        using (var codec = SKCodec.Create(new SKMemoryStream(bytes)))
        {
            if (codec is null || !ContentTypes.TryGetValue(codec.EncodedFormat, out var contentType))
                return (null, "not a decodable image (JPEG/PNG/BMP/WebP/GIF)", 0, 0);
            entry.ContentType = contentType;
        }
        try
        {
            using var bitmap = ImageCodec.Decode(bytes);
            return (bytes, null, bitmap.Height, bitmap.Width);
        }
        catch (CorruptImageException e) { return (null, e.Message, 0, 0); }
    }

    /// <summary>The second read, when the image is published: the bytes checked by the first pass.</summary>
    private static LabelledImage Read(Entry entry, int index) =>
        new(index, entry.Labels, SourceFiles.Read(entry.File, MaxFileBytes), entry.ContentType, entry.Relative);

    /// <summary>A class folder's files in ordinal order; a folder that cannot be listed is named among the bad ones.</summary>
    private static IEnumerable<string> FilesOf(string folder, List<SkippedImage> bad)
    {
        try { return Directory.GetFiles(folder).OrderBy(f => f, StringComparer.Ordinal).ToList(); }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            bad.Add(new(folder, $"the folder cannot be listed: {e.Message}"));
            return [];
        }
    }

    /// <summary>The path with every symlink on the way resolved.</summary>
    private static string RealPath(string path)
    {
        var full = Path.GetFullPath(path);
        var parent = Path.GetDirectoryName(full);
        var resolvedParent = parent is null ? null : RealPath(parent);
        var here = resolvedParent is null ? full : Path.Combine(resolvedParent, Path.GetFileName(full));
        FileSystemInfo info = Directory.Exists(here) ? new DirectoryInfo(here) : new FileInfo(here);
        var target = info.LinkTarget is null ? null : info.ResolveLinkTarget(returnFinalTarget: true);
        return target is null ? here : RealPath(target.FullName);
    }

    /// <summary>
    /// Whether a file or folder is (or passes through) a symlink to somewhere outside the root; null when the
    /// link cannot be resolved (a loop): the first pass names it.
    /// </summary>
    private static bool? Outside(string path, string realRoot)
    {
        string real;
        try { real = RealPath(path); }
        catch (IOException) { return null; }
        return real != realRoot && !real.StartsWith(realRoot.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal);
    }
}
