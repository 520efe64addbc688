using System.Security.Cryptography;
using BitActors.Streams.Images;
using SkiaSharp;

namespace BitActors.Streams.Datasets;

/// <summary>
/// An ImageFolder tree: <c>ROOT/&lt;split&gt;/&lt;class&gt;/&lt;image&gt;</c> (splits are the sub-folders that hold
/// class folders, e.g. train/test/val), or <c>ROOT/&lt;class&gt;/&lt;image&gt;</c> as a single <c>train</c> split.
/// Classes are the folder names in ordinal order (ids 0..K-1, the same in every split). Image bytes are
/// published as they are (JPEG/PNG/BMP/WebP/GIF); every file is decoded once first (a truncated file or a
/// decompression bomb is found now), symlinks leading outside the root are refused, and a tree with bad
/// files is refused with their names and reasons, before anything is published.
/// With a <see cref="LabelFile"/> the dataset is multi-label: each image gets its folder class and the labels listed.
/// </summary>
public static class ImageFolderDataset
{
    private static readonly Dictionary<SKEncodedImageFormat, string> ContentTypes = new()
    {
        [SKEncodedImageFormat.Jpeg] = "image/jpeg",
        [SKEncodedImageFormat.Png] = "image/png",
        [SKEncodedImageFormat.Bmp] = "image/bmp",
        [SKEncodedImageFormat.Webp] = "image/webp",
        [SKEncodedImageFormat.Gif] = "image/gif",
    };

    public static DatasetSource Load(string name, string root, string? labelsFile = null)
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

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var splits = new List<DatasetSplit>();
        var bad = new List<string>();
        var sizes = new Dictionary<(int, int), int>();
        var rootPath = Path.GetFullPath(root);
        var realRoot = RealPath(root);
        foreach (var (split, path) in splitRoots)
        {
            var classFolders = Directory.GetDirectories(path).OrderBy(d => d, StringComparer.Ordinal).ToList();
            foreach (var folder in classFolders.Prepend(path).Where(d => Outside(d, realRoot)))
                bad.Add($"{folder}: a symlink leading outside the root, to {RealPath(folder)}");
            var files = classFolders.Where(d => !Outside(d, realRoot))
                .SelectMany(d => Directory.GetFiles(d).OrderBy(f => f, StringComparer.Ordinal).Select(f => (File: f, Label: classIds[Path.GetFileName(d)])))
                .ToList();
            var images = new LabelledImage[files.Count];
            var contents = new byte[files.Count][];
            for (int i = 0; i < files.Count; i++)
            {
                if (Outside(files[i].File, realRoot))
                {
                    bad.Add($"{files[i].File}: a symlink leading outside the root, to {RealPath(files[i].File)}");
                    continue;
                }
                contents[i] = File.ReadAllBytes(files[i].File);
                hash.AppendData(contents[i]);
            }
            // Every image is decoded once (in parallel): a truncated file, or a header claiming more pixels than
            // the pipeline accepts, is found now rather than at training time.
            var reasons = new string?[files.Count];
            var found = new (int Height, int Width)[files.Count];
            Parallel.For(0, files.Count, i =>
            {
                if (contents[i] is null) return;
                using var codec = SKCodec.Create(new SKMemoryStream(contents[i]));
                if (codec is null || !ContentTypes.TryGetValue(codec.EncodedFormat, out var contentType))
                {
                    reasons[i] = "not a decodable image (JPEG/PNG/BMP/WebP/GIF)";
                    return;
                }
                try
                {
                    using var bitmap = ImageCodec.Decode(contents[i]);
                    found[i] = (bitmap.Height, bitmap.Width);
                    images[i] = new LabelledImage(i, [files[i].Label], contents[i], contentType, Path.GetRelativePath(rootPath, files[i].File).Replace('\\', '/'));
                }
                catch (CorruptImageException e) { reasons[i] = e.Message; }
            });
            for (int i = 0; i < files.Count; i++)
            {
                if (reasons[i] is { } reason) bad.Add($"{files[i].File}: {reason}");
                else if (images[i] is not null) sizes[found[i]] = sizes.GetValueOrDefault(found[i]) + 1;
            }
            splits.Add(new DatasetSplit(split, images));
        }
        if (bad.Count > 0)
            throw new InvalidDataException($"{bad.Count} file(s) under {root} cannot be published; nothing was published: " +
                string.Join("; ", bad.Take(10)) + (bad.Count > 10 ? "; …" : ""));
        if (sizes.Count == 0) throw new InvalidDataException($"{root} holds no images");
        // The manifest's image size (the HyperRule reads it) is the most common one.
        var (height, width) = sizes.MaxBy(kv => kv.Value).Key;
        if (labelFile is not null)
        {
            var labels = labelFile.Resolve(splits.SelectMany(s => s.Images).Select(i => (i.Origin!, i.Labels[0])).ToList(), classes);
            splits = splits.Select(s => s with { Images = s.Images.Select(i => i with { Labels = labels[LabelFile.Normalize(i.Origin!)] }).ToArray() }).ToList();
            hash.AppendData(File.ReadAllBytes(labelFile.Path));
        }
        return new DatasetSource(name, classes, height, width, 3, labelFile is not null, Convert.ToHexStringLower(hash.GetHashAndReset()), splits);
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

    /// <summary>A file or folder that is (or passes through) a symlink to somewhere outside the root.</summary>
    private static bool Outside(string path, string realRoot)
    {
        var real = RealPath(path);
        return real != realRoot && !real.StartsWith(realRoot.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal);
    }
}
