using System.Security.Cryptography;
using SkiaSharp;

namespace BitActors.Streams.Datasets;

/// <summary>
/// An ImageFolder tree: <c>ROOT/&lt;split&gt;/&lt;class&gt;/&lt;image&gt;</c> (splits are the sub-folders that hold
/// class folders, e.g. train/test/val), or <c>ROOT/&lt;class&gt;/&lt;image&gt;</c> as a single <c>train</c> split.
/// Classes are the folder names in ordinal order (ids 0..K-1, the same in every split). Image bytes are
/// published as they are (JPEG/PNG/BMP/WebP/GIF); every file is checked to be a decodable image first,
/// and a tree with bad files is refused with their names, before anything is published. With a
/// <see cref="LabelFile"/> the dataset is multi-label: each image gets its folder class and the labels listed.
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
        foreach (var (split, path) in splitRoots)
        {
            var files = Directory.GetDirectories(path).OrderBy(d => d, StringComparer.Ordinal)
                .SelectMany(d => Directory.GetFiles(d).OrderBy(f => f, StringComparer.Ordinal).Select(f => (File: f, Label: classIds[Path.GetFileName(d)])))
                .ToList();
            var images = new LabelledImage[files.Count];
            for (int i = 0; i < files.Count; i++)
            {
                var bytes = File.ReadAllBytes(files[i].File);
                hash.AppendData(bytes);
                using var codec = SKCodec.Create(new SKMemoryStream(bytes));
                if (codec is null || !ContentTypes.TryGetValue(codec.EncodedFormat, out var contentType))
                {
                    bad.Add(files[i].File);
                    continue;
                }
                var size = (codec.Info.Height, codec.Info.Width);
                sizes[size] = sizes.GetValueOrDefault(size) + 1;
                images[i] = new LabelledImage(i, [files[i].Label], bytes, contentType, Path.GetRelativePath(rootPath, files[i].File).Replace('\\', '/'));
            }
            splits.Add(new DatasetSplit(split, images));
        }
        if (bad.Count > 0)
            throw new InvalidDataException($"{bad.Count} file(s) under {root} are not decodable images (JPEG/PNG/BMP/WebP/GIF); nothing was published: " +
                string.Join(", ", bad.Take(10)) + (bad.Count > 10 ? ", …" : ""));
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
}
