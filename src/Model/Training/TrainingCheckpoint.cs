using BitActors.Model.Checkpoints;
using System.Security.Cryptography;
using BitActors.Model.Architecture;

namespace BitActors.Model.Training;

/// <summary>
/// A resumable training checkpoint: the weights (<c>PATH</c>, TorchSharp's format, loadable as a backbone)
/// and the training state (<c>PATH.state</c>: magic, next step, momentum buffers, and the sha256 of the
/// weights file, so a state never pairs with other weights). Each file is written to a temporary name
/// first and renamed, so a crash leaves the previous checkpoint intact.
/// </summary>
public static class TrainingCheckpoint
{
    private const int Magic = 0x42495453; // "BITS"
    private const int Version = 1;

    public static string StatePath(string path) => path + ".state";

    public static CheckpointFiles.Saved Save(ResNetV2 model, MomentumSgd optimizer, int nextStep, string path)
    {
        var weights = CheckpointFiles.Save(model, path);
        var tmp = StatePath(path) + ".partial";
        using (var writer = new BinaryWriter(File.Create(tmp)))
        {
            writer.Write(Magic);
            writer.Write(Version);
            writer.Write(nextStep);
            writer.Write(weights.Sha256);
            optimizer.Save(writer);
        }
        File.Move(tmp, StatePath(path), overwrite: true);
        return weights;
    }

    /// <summary>The step a checkpoint continues from, without loading any tensor.</summary>
    public static int ReadStep(string path)
    {
        using var reader = OpenState(path);
        return reader.ReadInt32();
    }

    public static int Load(ResNetV2 model, MomentumSgd optimizer, string path)
    {
        using var reader = OpenState(path);
        var step = reader.ReadInt32();
        var sha = reader.ReadString();
        using (var weights = File.OpenRead(path))
        {
            var actual = Convert.ToHexStringLower(SHA256.HashData(weights));
            if (actual != sha)
                throw new InvalidDataException($"{path}: weights do not match their training state (sha256 {actual[..12]}…, state expects {sha[..12]}…)");
        }
        CheckpointFiles.Load(model, path, HeadPolicy.Require);
        try { optimizer.Load(reader); }
        catch (EndOfStreamException) { throw new InvalidDataException($"{StatePath(path)} is truncated"); }
        return step;
    }

    private static BinaryReader OpenState(string path)
    {
        var statePath = StatePath(path);
        if (!File.Exists(statePath)) throw new FileNotFoundException($"training state not found: {statePath} (is {path} a training checkpoint?)", statePath);
        var reader = new BinaryReader(File.OpenRead(statePath));
        try
        {
            if (reader.ReadInt32() != Magic || reader.ReadInt32() != Version)
                throw new InvalidDataException($"{statePath} is not a BitActors training state (version {Version})");
            return reader;
        }
        catch (EndOfStreamException)
        {
            reader.Dispose();
            throw new InvalidDataException($"{statePath} is truncated");
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }
}
