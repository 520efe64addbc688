using BitActors.Model.Architecture;
using BitActors.Model.Checkpoints;
using static TorchSharp.torch;

namespace BitActors.Model.Tests;

/// <summary>
/// A process killed while it overwrites a checkpoint leaves a valid checkpoint at that path: the previous
/// one (killed before the rename) or the new one (killed between the rename and the hash's rename). The
/// states a kill can leave are made here file by file, so every window is checked, not only the one a
/// timed kill happens to hit.
/// </summary>
public sealed class InterruptedWriteTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("bitactors-interrupted").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static ResNetV2 Tiny(int seed)
    {
        manual_seed(seed);
        return new ResNetV2(KnownModels.Get("Tiny"), 4);
    }

    private static float FirstWeight(ResNetV2 model) => model.state_dict().First().Value.flatten()[0].item<float>();

    private (string Path, string OldSha, byte[] NewBytes, string NewSha) OldAndNew(string name)
    {
        using var oldModel = Tiny(1);
        using var newModel = Tiny(2);
        var path = Path.Combine(dir, name);
        var old = CheckpointFiles.Save(oldModel, path);
        var fresh = CheckpointFiles.Save(newModel, Path.Combine(dir, "new-" + name));
        return (path, old.Sha256, File.ReadAllBytes(fresh.Path), fresh.Sha256);
    }

    private static float Loaded(string path)
    {
        using var model = Tiny(3);
        CheckpointFiles.Load(model, path, HeadPolicy.Require);
        return FirstWeight(model);
    }

    [Theory]
    [InlineData("w.bin")]
    [InlineData("w.safetensors")]
    [InlineData("w.npz")]
    public void KilledWhileWritingTheTemporaryFileThePreviousCheckpointStaysValid(string name)
    {
        var (path, _, newBytes, newSha) = OldAndNew(name);
        var before = Loaded(path);
        // The kill came after the pending hash was written, with the temporary file half written.
        File.WriteAllText(path + ".sha256.partial", $"{newSha}  {name}\n");
        File.WriteAllBytes(path + ".partial", newBytes[..(newBytes.Length / 2)]);
        Assert.Equal(before, Loaded(path));
        CheckpointFiles.Describe(path);
    }

    [Theory]
    [InlineData("w.bin")]
    [InlineData("w.safetensors")]
    [InlineData("w.npz")]
    public void KilledBetweenTheRenamesTheNewCheckpointIsValid(string name)
    {
        var (path, oldSha, newBytes, newSha) = OldAndNew(name);
        // The new file is in place, the old hash still beside it, the new hash pending.
        File.WriteAllBytes(path, newBytes);
        File.WriteAllText(path + ".sha256.partial", $"{newSha}  {name}\n");
        Assert.StartsWith(oldSha, File.ReadAllText(path + ".sha256"));
        Assert.Equal(Loaded(Path.Combine(dir, "new-" + name)), Loaded(path));
        Assert.Equal(newSha, CheckpointFiles.Describe(path).Sha256);
        // A later save completes normally and leaves nothing pending.
        using var model = Tiny(4);
        CheckpointFiles.Save(model, path);
        Assert.False(File.Exists(path + ".sha256.partial"));
        Assert.False(File.Exists(path + ".partial"));
    }

    [Fact]
    public void APendingHashDoesNotExcuseACorruptFile()
    {
        var (path, _, _, newSha) = OldAndNew("w.safetensors");
        File.WriteAllText(path + ".sha256.partial", $"{newSha}  w.safetensors\n");
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x10;
        File.WriteAllBytes(path, bytes);
        Assert.Throws<CorruptCheckpointException>(() => Loaded(path));
    }
}
