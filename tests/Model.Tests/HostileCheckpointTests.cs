using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using BitActors.Model.Architecture;
using BitActors.Model.Checkpoints;
using static TorchSharp.torch;

namespace BitActors.Model.Tests;

/// <summary>Corrupt and hostile checkpoint files get a clear error naming the file, before anything large is allocated.</summary>
public sealed class HostileCheckpointTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("bitactors-hostile").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static ResNetV2 Tiny() => new(KnownModels.Get("Tiny"), 4);

    private static byte[] Npy(string descr, string shape, int dataBytes)
    {
        var stream = new MemoryStream();
        var dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}";
        dict += new string(' ', 63 - (10 + dict.Length) % 64) + "\n";
        stream.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        stream.Write(BitConverter.GetBytes((ushort)dict.Length));
        stream.Write(Encoding.Latin1.GetBytes(dict));
        stream.Write(new byte[dataBytes]);
        return stream.ToArray();
    }

    private string Zip(string name, params (string Entry, byte[] Data)[] entries)
    {
        var path = Path.Combine(dir, name);
        using var zip = new ZipArchive(File.Create(path), ZipArchiveMode.Create);
        foreach (var (entry, data) in entries)
        {
            using var s = zip.CreateEntry(entry, CompressionLevel.Optimal).Open();
            s.Write(data);
        }
        return path;
    }

    [Fact]
    public void NpzBombIsRefusedBeforeItIsInflated()
    {
        // 235 MB of zeros behind a key the model has: deflates to a few hundred KB.
        var bomb = Npy("<f4", "(7, 7, 3, 300000)", 7 * 7 * 3 * 300000 * 4);
        var path = Zip("bomb.npz", ("resnet/root_block/standardized_conv2d/kernel.npy", bomb));
        Assert.True(new FileInfo(path).Length < 2_000_000);
        using var model = Tiny();
        var e = Assert.Throws<CheckpointMismatchException>(() => CheckpointFiles.Load(model, path, HeadPolicy.Replace));
        Assert.Contains("resnet/root_block/standardized_conv2d/kernel [7, 7, 3, 300000]", e.Message);
    }

    [Fact]
    public void NpzEntryWhoseSizeDisagreesWithItsHeaderIsRefused()
    {
        var path = Zip("lying.npz", ("a.npy", Npy("<f4", "(100000, 100000)", 16)));
        var e = Assert.Throws<CorruptCheckpointException>(() => new NpzArchive(path));
        Assert.Contains("array 'a'", e.Message);
        Assert.Contains("declares", e.Message);
    }

    [Theory]
    [InlineData("|O", "(3,)", "unsupported array dtype '|O'")] // a pickled object array
    [InlineData(">f4", "(3,)", "unsupported array dtype '>f4'")]
    [InlineData("<f4", "(3, -1)", "bad dimension")]
    public void NpyHeadersThatAreNotPlainNumbersAreRefused(string descr, string shape, string reason)
    {
        var path = Zip("odd.npz", ("a.npy", Npy(descr, shape, 12)));
        var e = Assert.Throws<CorruptCheckpointException>(() => new NpzArchive(path));
        Assert.Contains(reason, e.Message);
    }

    private string Safetensors(string name, ulong headerLength, string json, int dataBytes)
    {
        var path = Path.Combine(dir, name);
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLength);
        File.WriteAllBytes(path, [.. bytes, .. Encoding.UTF8.GetBytes(json), .. new byte[dataBytes]]);
        return path;
    }

    [Fact]
    public void SafetensorsWithAbsurdSizesOrOffsetsAreRefused()
    {
        const string one = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        var huge = Safetensors("huge.safetensors", 1UL << 62, one, 8);
        Assert.Contains("header claims", Assert.Throws<CorruptCheckpointException>(() => new SafetensorsArchive(huge)).Message);

        var outside = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8000000000]}}";
        var past = Safetensors("past.safetensors", (ulong)outside.Length, outside, 8);
        Assert.Contains("lie outside", Assert.Throws<CorruptCheckpointException>(() => new SafetensorsArchive(past)).Message);

        var shape = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4000000000,4000000000,4000000000],\"data_offsets\":[0,8]}}";
        var absurd = Safetensors("shape.safetensors", (ulong)shape.Length, shape, 8);
        Assert.Contains("absurd", Assert.Throws<CorruptCheckpointException>(() => new SafetensorsArchive(absurd)).Message);

        var overlap = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
        var overlapping = Safetensors("overlap.safetensors", (ulong)overlap.Length, overlap, 12);
        Assert.Contains("overlap", Assert.Throws<CorruptCheckpointException>(() => new SafetensorsArchive(overlapping)).Message);

        var broken = Safetensors("json.safetensors", 5, "{\"a\":", 8);
        Assert.Contains("malformed", Assert.Throws<CorruptCheckpointException>(() => new SafetensorsArchive(broken)).Message);
    }

    [Fact]
    public void TruncatedSafetensorsAndRandomBytesAreRefusedByName()
    {
        using var model = Tiny();
        var saved = CheckpointFiles.Save(model, Path.Combine(dir, "t.safetensors"));
        File.Delete(saved.Path + ".sha256");
        var bytes = File.ReadAllBytes(saved.Path);
        File.WriteAllBytes(saved.Path, bytes[..(bytes.Length - 100)]);
        var e = Assert.ThrowsAny<CheckpointException>(() => CheckpointFiles.Load(model, saved.Path, HeadPolicy.Require));
        Assert.Contains(saved.Path, e.Message);

        var random = Path.Combine(dir, "random.bin");
        var noise = new byte[4096];
        new Random(1).NextBytes(noise);
        File.WriteAllBytes(random, noise);
        Assert.ThrowsAny<CheckpointException>(() => CheckpointFiles.Load(model, random, HeadPolicy.Require));
    }

    [Fact]
    public void ABitFlipIsCaughtByTheHashBesideTheCheckpoint()
    {
        using var model = Tiny();
        var saved = CheckpointFiles.Save(model, Path.Combine(dir, "w.npz"));
        var bytes = File.ReadAllBytes(saved.Path);
        bytes[bytes.Length / 2] ^= 0x10;
        File.WriteAllBytes(saved.Path, bytes);
        var e = Assert.Throws<CorruptCheckpointException>(() => CheckpointFiles.Load(model, saved.Path, HeadPolicy.Require));
        Assert.Contains("sha256", e.Message);
    }

    [Fact]
    public void AStaleTemporaryFileDoesNotDisturbASave()
    {
        using var model = Tiny();
        var path = Path.Combine(dir, "w.safetensors");
        File.WriteAllText(path + ".partial", "left by a process killed mid-write");
        CheckpointFiles.Save(model, path);
        Assert.False(File.Exists(path + ".partial"));
        using var copy = Tiny();
        Assert.Equal(model.state_dict().Count, CheckpointFiles.Load(copy, path, HeadPolicy.Require).Tensors);
    }
}
