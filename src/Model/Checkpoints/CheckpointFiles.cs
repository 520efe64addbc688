using System.Buffers.Binary;
using System.Security.Cryptography;
using BitActors.Model.Architecture;
using static TorchSharp.torch;

namespace BitActors.Model.Checkpoints;

public enum CheckpointFormat
{
    /// <summary>TorchSharp's module format with BitActors' names (the trainer's checkpoints).</summary>
    Native,

    /// <summary>NumPy .npz in Google's BiT layout (HWIO kernels).</summary>
    Npz,

    /// <summary>safetensors with timm's resnetv2 names.</summary>
    Safetensors,
}

/// <summary>
/// Reads and writes model weights in the three formats, choosing by content (reading) or extension
/// (writing): <c>.npz</c> is Google's BiT layout, <c>.safetensors</c> uses timm's names, anything else is
/// TorchSharp's native format. Every write goes to a temporary file that is renamed into place, and a
/// <c>PATH.sha256</c> (sha256sum format) is written beside it; a load verifies that hash when it is present.
/// </summary>
public static class CheckpointFiles
{
    /// <summary>A written checkpoint; <c>Format</c> is "torchsharp", "npz", "safetensors" (or "onnx"); <c>Metadata</c>: what it says of itself.</summary>
    public sealed record Saved(string Path, long Bytes, string Sha256, string Format, CheckpointMetadata? Metadata = null);

    public static string Name(CheckpointFormat format) => format switch
    {
        CheckpointFormat.Npz => "npz",
        CheckpointFormat.Safetensors => "safetensors",
        _ => "torchsharp",
    };

    public static CheckpointFormat FormatFor(string path) => System.IO.Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".npz" => CheckpointFormat.Npz,
        ".safetensors" => CheckpointFormat.Safetensors,
        _ => CheckpointFormat.Native,
    };

    /// <summary>The format of an existing file, from its first bytes.</summary>
    public static CheckpointFormat Detect(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint not found: {path}", path);
        Span<byte> head = stackalloc byte[9];
        int n;
        using (var file = File.OpenRead(path)) n = file.ReadAtLeast(head, 9, throwOnEndOfStream: false);
        if (n >= 4 && head[0] == (byte)'P' && head[1] == (byte)'K' && head[2] is 3 or 5) return CheckpointFormat.Npz;
        if (n == 9 && head[8] == (byte)'{' && BinaryPrimitives.ReadUInt64LittleEndian(head) < (ulong)new FileInfo(path).Length) return CheckpointFormat.Safetensors;
        return CheckpointFormat.Native;
    }

    public static IWeightArchive Open(string path) => Open(path, Detect(path));

    private static IWeightArchive Open(string path, CheckpointFormat format) => format switch
    {
        CheckpointFormat.Npz => new NpzArchive(path),
        CheckpointFormat.Safetensors => new SafetensorsArchive(path),
        _ => new NativeArchive(path),
    };

    public static WeightLayout LayoutOf(CheckpointFormat format) => format switch
    {
        CheckpointFormat.Npz => WeightLayout.BitNpz,
        CheckpointFormat.Safetensors => WeightLayout.Timm,
        _ => WeightLayout.Native,
    };

    /// <summary>Loads any of the three formats into <paramref name="model"/> (see <see cref="WeightLoader"/>).</summary>
    /// <param name="sha256">The file's hash when the caller has already computed it: the check beside the file then reads it no more.</param>
    public static LoadReport Load(ResNetV2 model, string path, HeadPolicy head, string? sha256 = null)
    {
        VerifyHash(path, sha256);
        var format = Detect(path);
        using var archive = Open(path, format);
        return WeightLoader.Load(model, archive, LayoutOf(format), head);
    }

    /// <summary>An existing checkpoint described as if just saved: its hash (checked against the one beside it), size and format.</summary>
    public static Saved Describe(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"checkpoint not found: {path}", path);
        var (sha, bytes) = Hash(full);
        VerifyHash(full, sha);
        return new Saved(full, bytes, sha, Name(Detect(full)));
    }

    /// <summary>The file's sha256 (lower-case hex) and length.</summary>
    public static (string Sha256, long Bytes) Hash(string path)
    {
        using var stream = File.OpenRead(path);
        return (Convert.ToHexStringLower(SHA256.HashData(stream)), stream.Length);
    }

    /// <summary>Writes <c>PATH.sha256</c> (sha256sum format) atomically: a temporary file renamed into place.</summary>
    public static void WriteHashBeside(string path, string sha256)
    {
        WritePendingHash(path, sha256);
        Durable.Replace(PendingHashPath(path), HashPath(path));
    }

    /// <summary>
    /// Moves a fully written temporary file to <paramref name="path"/> with its hash beside it. The new hash is
    /// written first, as pending (<c>PATH.sha256.partial</c>): a process killed between the two renames leaves
    /// the new file, the old <c>PATH.sha256</c> and the pending hash, which <see cref="VerifyHash"/> accepts;
    /// killed before, the previous file and its hash are untouched. Either way the checkpoint there is valid. Both files
    /// are on disk (fsync) before their renames, and the renames after them (fsync of the folder), so the same holds
    /// after a power loss (<see cref="Durable"/>).
    /// </summary>
    public static void MoveIntoPlace(string tmp, string path, string sha256)
    {
        WritePendingHash(path, sha256);
        Durable.FlushFile(PendingHashPath(path));
        Durable.FlushFile(tmp);
        File.Move(tmp, path, overwrite: true);
        File.Move(PendingHashPath(path), HashPath(path), overwrite: true);
        Durable.FlushFolderOf(path);
    }

    private static void WritePendingHash(string path, string sha256) =>
        File.WriteAllText(PendingHashPath(path), $"{sha256}  {System.IO.Path.GetFileName(path)}\n");

    private static string PendingHashPath(string path) => HashPath(path) + ".partial";

    private static string? ReadHashFile(string hashPath)
    {
        try { return File.ReadAllText(hashPath).Split(' ', 2)[0].Trim().ToLowerInvariant(); }
        catch (FileNotFoundException) { return null; }
    }

    /// <summary>
    /// Writes the model in the format its extension names, atomically, with a sha256 beside it, and
    /// <paramref name="metadata"/> (default: the model's own description) inside it.
    /// </summary>
    public static Saved Save(ResNetV2 model, string path, CheckpointFormat? format = null, CheckpointMetadata? metadata = null)
    {
        metadata ??= CheckpointMetadata.Of(model);
        if (metadata.Arch != model.Config.Name || metadata.Classes != model.NumClasses || metadata.Channels != model.Config.InChannels)
            throw new ArgumentException($"metadata ({metadata.Arch}, {metadata.Channels} channel(s), {metadata.Classes} classes) does not describe {model.Config} with {model.NumClasses} classes");
        var strings = metadata.ToStrings();
        var chosen = format ?? FormatFor(path);
        var full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        var tmp = full + ".partial";
        using (NewDisposeScope()) // the layout views made while writing
        switch (chosen)
        {
            case CheckpointFormat.Native:
                model.save(tmp);
                NativeArchive.AppendMetadata(tmp, strings);
                break;
            case CheckpointFormat.Npz:
                if (!model.Config.IsBit)
                    throw new NotSupportedException($"the BiT .npz layout holds GroupNorm + weight-standardised models; {model.Config} needs .safetensors or the native format");
                NpzArchive.Write(tmp, Tensors(model, WeightLayout.BitNpz), strings);
                break;
            case CheckpointFormat.Safetensors:
                SafetensorsArchive.Write(tmp, [.. Tensors(model, WeightLayout.Timm)], strings);
                break;
        }
        var (sha, bytes) = Hash(tmp);
        MoveIntoPlace(tmp, full, sha);
        return new Saved(full, bytes, sha, Name(chosen), metadata);
    }

    public static string HashPath(string path) => path + ".sha256";

    /// <summary>
    /// Checks the file against <c>PATH.sha256</c> when one is there (hashing it, unless <paramref name="sha256"/>
    /// gives the hash already computed); a mismatch names both hashes.
    /// </summary>
    public static void VerifyHash(string path, string? sha256 = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint not found: {path}", path);
        var hashPath = HashPath(path);
        if (!File.Exists(hashPath)) return;
        var expected = File.ReadAllText(hashPath).Split(' ', 2)[0].Trim().ToLowerInvariant();
        var actual = sha256 ?? Hash(path).Sha256;
        // A writer killed between its renames (see MoveIntoPlace) left the file's hash pending.
        if (actual != expected && ReadHashFile(PendingHashPath(path)) == actual) return;
        if (actual != expected)
            throw new CorruptCheckpointException($"{path} is corrupt: sha256 {actual[..16]}… does not match {System.IO.Path.GetFileName(hashPath)} ({expected[..Math.Min(16, expected.Length)]}…)");
    }

    /// <summary>The model's tensors named and laid out for a file (views; nothing is copied until written).</summary>
    private static IEnumerable<(string Key, Tensor Value)> Tensors(ResNetV2 model, WeightLayout layout)
    {
        foreach (var (name, tensor) in model.state_dict())
        {
            var key = layout.KeyFor(name) ?? throw new NotSupportedException($"the {layout.Name} layout has no key for {name}");
            yield return (key, layout.ToStored(name, tensor));
        }
    }

    /// <summary>
    /// <paramref name="path"/> (any format) rewritten as <paramref name="output"/> in the format its extension names, with
    /// the metadata it has or its arrays imply; null when it has no classification head (nothing to rebuild it as).
    /// </summary>
    public static Saved? Rewrite(string path, string output)
    {
        var info = Inspect(path);
        if (info.Metadata.Classes == 0) return null;
        using var model = new ResNetV2(info.Metadata.Config, info.Metadata.Classes);
        Load(model, path, HeadPolicy.Require);
        return Save(model, output, metadata: info.Metadata);
    }

    /// <summary>
    /// What a checkpoint holds, before any weight is read: its own metadata where the project wrote it, else the
    /// architecture inferred from its arrays' names and shapes (Google's .npz files carry none).
    /// </summary>
    public static CheckpointInfo Inspect(string path)
    {
        var format = Detect(path);
        using var archive = Open(path, format);
        if (CheckpointMetadata.FromStrings(archive.Metadata, path) is { } metadata) return new CheckpointInfo(path, Name(format), metadata, FromMetadata: true);
        var inferred = ArchitectureInference.Infer(archive, LayoutOf(format));
        return new CheckpointInfo(path, Name(format), new CheckpointMetadata
        {
            Arch = inferred.Config.Name, Norm = inferred.Config.Norm, WeightStandardization = inferred.Config.WeightStandardization,
            Channels = inferred.Config.InChannels, Classes = inferred.Classes ?? 0,
        }, FromMetadata: false);
    }
}

/// <summary>
/// A checkpoint's description: from its metadata (<c>FromMetadata</c>), or inferred from its arrays, in which case
/// <c>Classes</c> is the head's size (0: no head) and the norm and weight standardisation are BiT's unless running
/// statistics say BatchNorm.
/// </summary>
public sealed record CheckpointInfo(string Path, string Format, CheckpointMetadata Metadata, bool FromMetadata)
{
    public string Source => FromMetadata ? "its metadata" : "its arrays' shapes";
}
