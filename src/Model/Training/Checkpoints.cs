using BitActors.Model.Architecture;
using System.Security.Cryptography;

namespace BitActors.Model.Training;

/// <summary>TorchSharp's native checkpoint format (BiT .npz and safetensors arrive with the checkpoint issue).</summary>
public static class Checkpoints
{
    public const string NativeFormat = "torchsharp";

    public sealed record Saved(string Path, long Bytes, string Sha256, string Format);

    /// <summary>Writes to a temporary file first, then renames, so a crash never leaves a truncated checkpoint.</summary>
    public static Saved Save(ResNetV2 model, string path)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        var tmp = path + ".partial";
        model.save(tmp);
        File.Move(tmp, path, overwrite: true);
        using var stream = File.OpenRead(path);
        var sha = Convert.ToHexStringLower(SHA256.HashData(stream));
        return new Saved(System.IO.Path.GetFullPath(path), stream.Length, sha, NativeFormat);
    }

    /// <summary>
    /// Loads a backbone into <paramref name="model"/>, skipping the head when <paramref name="skipHead"/>
    /// (transfer to a task with other classes). A missing or unreadable file is reported by path.
    /// </summary>
    public static void LoadBackbone(ResNetV2 model, string path, bool skipHead)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint not found: {path}", path);
        try
        {
            model.load(path, strict: !skipHead, skip: skipHead ? ResNetV2.HeadParameterNames : null);
        }
        catch (Exception e) when (e is not FileNotFoundException)
        {
            throw new InvalidDataException($"checkpoint {path} could not be loaded into {model.Config.Name}: {e.Message}", e);
        }
    }
}
