using BitActors.Model.Checkpoints;
using BitActors.Model.Architecture;

namespace BitActors.Model.Training;

/// <summary>
/// A resumable training checkpoint: the weights (<c>PATH</c>, TorchSharp's format, loadable as a backbone,
/// with <c>PATH.sha256</c> beside it) and the training state (<c>PATH.state</c>: magic, version, next step,
/// the sha256 of the weights file so a state never pairs with other weights, the
/// <see cref="TrainingPosition"/> (schedule, batch size, data position) as JSON, and the momentum buffers;
/// with <c>PATH.state.sha256</c> beside it). Each file is written to a temporary name first and renamed,
/// so a crash leaves the previous checkpoint intact; both hashes are verified on load.
/// </summary>
public static class TrainingCheckpoint
{
    private const int Magic = 0x42495453; // "BITS"
    private const int Version = 2;

    public static string StatePath(string path) => path + ".state";

    /// <summary>Deletes a checkpoint's four files (weights, training state, both hashes); absent files are skipped.</summary>
    public static void Delete(string path)
    {
        foreach (var file in new[] { path, CheckpointFiles.HashPath(path), StatePath(path), CheckpointFiles.HashPath(StatePath(path)) })
            File.Delete(file);
    }

    public static CheckpointFiles.Saved Save(ResNetV2 model, MomentumSgd optimizer, int nextStep, string path, TrainingPosition? position = null, CheckpointMetadata? metadata = null)
    {
        var weights = CheckpointFiles.Save(model, path, CheckpointFormat.Native, metadata);
        var statePath = StatePath(weights.Path);
        var tmp = statePath + ".partial";
        using (var writer = new BinaryWriter(File.Create(tmp)))
        {
            writer.Write(Magic);
            writer.Write(Version);
            writer.Write(nextStep);
            writer.Write(weights.Sha256);
            writer.Write(position?.ToJson() ?? "");
            optimizer.Save(writer);
        }
        var (sha, _) = CheckpointFiles.Hash(tmp);
        CheckpointFiles.MoveIntoPlace(tmp, statePath, sha);
        return weights;
    }

    /// <summary>
    /// The step a checkpoint continues from, and the schedule and data position it was written at (null when
    /// it holds none), without loading any tensor.
    /// </summary>
    public static (int Step, TrainingPosition? Position) ReadHeader(string path)
    {
        using var reader = OpenState(path);
        var step = reader.ReadInt32();
        reader.ReadString();
        return (step, TrainingPosition.FromJson(reader.ReadString()));
    }

    /// <summary>
    /// <see cref="ReadHeader"/> of a checkpoint a run is about to resume from, its weights found and paired with its state
    /// (their sha256): what would otherwise fail only in the trainer, once per restart, is refused before step 0.
    /// </summary>
    public static (int Step, TrainingPosition? Position) ReadResumePoint(string path)
    {
        using var reader = OpenState(path);
        var step = reader.ReadInt32();
        VerifyWeights(path, reader.ReadString());
        return (step, TrainingPosition.FromJson(reader.ReadString()));
    }

    public static int Load(ResNetV2 model, MomentumSgd optimizer, string path)
    {
        using var reader = OpenState(path);
        var step = reader.ReadInt32();
        var sha = reader.ReadString();
        reader.ReadString(); // the position: the caller checks it with ReadHeader
        var actual = VerifyWeights(path, sha);
        CheckpointFiles.Load(model, path, HeadPolicy.Require, actual);
        try { optimizer.Load(reader); }
        catch (EndOfStreamException) { throw new InvalidDataException($"{StatePath(path)} is truncated"); }
        return step;
    }

    /// <summary>The weights' sha256, once found to be the one their state was written with.</summary>
    private static string VerifyWeights(string path, string expected)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint not found: {path}", path);
        var (actual, _) = CheckpointFiles.Hash(path);
        return actual == expected ? actual
            : throw new InvalidDataException($"{path}: weights do not match their training state (sha256 {actual[..12]}…, state expects {expected[..12]}…)");
    }

    private static BinaryReader OpenState(string path)
    {
        var statePath = StatePath(path);
        if (!File.Exists(statePath)) throw new FileNotFoundException($"training state not found: {statePath} (is {path} a training checkpoint?)", statePath);
        CheckpointFiles.VerifyHash(statePath);
        var reader = new BinaryReader(File.OpenRead(statePath));
        try
        {
            if (reader.ReadInt32() != Magic || reader.ReadInt32() != Version)
                throw new InvalidDataException($"{statePath} is not a BitActors training state of version {Version}");
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
