using BitActors.Model.Architecture;
using BitActors.Model.Checkpoints;
using BitActors.Model.Recipe;
using CsCheck;

namespace BitActors.Model.Tests;

/// <summary>
/// Property-based checks (CsCheck): whatever bytes a checkpoint file holds, reading it either works or
/// raises a <see cref="CheckpointException"/> naming the file; never another exception, never a crash.
/// </summary>
public sealed class CheckpointPropertyTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("bitactors-props").FullName;
    private readonly Dictionary<string, byte[]> valid = new();

    public CheckpointPropertyTests()
    {
        using var model = new ResNetV2(KnownModels.Get("Tiny") with { Units = [1, 1, 1, 1], BaseWidth = 8, Groups = 4 }, 3);
        foreach (var ext in new[] { ".npz", ".safetensors", ".bin" })
        {
            var path = Path.Combine(dir, "valid" + ext);
            CheckpointFiles.Save(model, path);
            valid[ext] = File.ReadAllBytes(path);
        }
    }

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static ResNetV2 Model() => new(KnownModels.Get("Tiny") with { Units = [1, 1, 1, 1], BaseWidth = 8, Groups = 4 }, 3);

    /// <summary>Loads the bytes as a checkpoint: true when it loaded, false when refused with a checkpoint error.</summary>
    private bool TryLoad(byte[] bytes, string extension, int id)
    {
        var path = Path.Combine(dir, $"case{id}{extension}");
        File.WriteAllBytes(path, bytes);
        try
        {
            using var model = Model();
            CheckpointFiles.Load(model, path, HeadPolicy.Require);
            return true;
        }
        catch (CheckpointException e)
        {
            Assert.Contains(path, e.Message);
            return false;
        }
        finally { File.Delete(path); }
    }

    private int cases;

    [Theory]
    [InlineData(".npz")]
    [InlineData(".safetensors")]
    [InlineData(".bin")]
    public void RandomBytesAreRefusedWithACheckpointError(string extension) =>
        Gen.Byte.Array[0, 600].Sample(bytes => Assert.False(TryLoad(bytes, extension, Interlocked.Increment(ref cases))), iter: 150, threads: 1);

    [Theory]
    [InlineData(".npz")]
    [InlineData(".safetensors")]
    [InlineData(".bin")]
    public void TruncatedOrBitFlippedFilesLoadOrAreRefusedCleanly(string extension)
    {
        var original = valid[extension];
        var gen = Gen.Select(Gen.Int[0, original.Length - 1], Gen.Int[0, original.Length - 1], Gen.Byte[1, 255], Gen.Bool);
        gen.Sample((cut, at, mask, truncate) =>
        {
            var bytes = truncate ? original[..cut] : (byte[])original.Clone();
            if (!truncate) bytes[at] ^= mask;
            var loaded = TryLoad(bytes, extension, Interlocked.Increment(ref cases));
            if (truncate) Assert.False(loaded, $"a file cut to {cut} of {original.Length} bytes loaded");
        }, iter: 150, threads: 1);
    }

    [Fact]
    public void HyperRuleSchedulesWarmUpThenOnlyDecay() =>
        Gen.Int[1, 2_000_000].Sample(examples =>
        {
            var schedule = HyperRule.Schedule(examples);
            double? previous = null;
            for (int step = schedule.WarmupSteps; step < schedule.TotalSteps; step += 7)
            {
                var lr = schedule.LearningRate(step)!.Value;
                Assert.InRange(lr, 0, HyperRule.BaseLr);
                if (previous is { } p) Assert.True(lr <= p);
                previous = lr;
            }
            Assert.Null(schedule.LearningRate(schedule.TotalSteps));
            Assert.Equal(examples < 20_000 ? 0.0 : HyperRule.MixUpAlpha, HyperRule.MixUp(examples));
        }, iter: 200);

    [Fact]
    public void HyperRuleResolutionDependsOnlyOnTheImageArea() =>
        Gen.Select(Gen.Int[1, 4000], Gen.Int[1, 4000]).Sample((h, w) =>
        {
            var r = HyperRule.ResolutionFor(h, w);
            Assert.Equal(r, HyperRule.ResolutionFor(w, h));
            Assert.True(r.Crop < r.Precrop);
            Assert.Equal(h * w < 96 * 96, r.Crop == 128);
        }, iter: 300);
}
