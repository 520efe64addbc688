using System.Text.Json;

namespace BitActors.Cli.Tests;

/// <summary>`bench train --peer`: BitActors and the plain-PyTorch peer (bench/peers/bit_train.py, python3-torch) in one run.</summary>
public class BenchTrainPeerTests
{
    [Fact]
    public async Task BenchTrainWithThePeerReportsBothMeasurementsAndTheirRatio()
    {
        var (code, stdout, stderr) = await CliProcess.RunAsync(TimeSpan.FromMinutes(4),
            "bench", "train", "--device", "cpu", "--arch", "Tiny", "--batch", "4", "--resolution", "32", "--steps", "3", "--warmup", "1",
            "--classes", "10", "--threads", "1", "--rounds", "2", "--peer", "--json");
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout.Trim().Split('\n').Last());
        var r = json.RootElement;
        Assert.Equal("bitactors", r.GetProperty("impl").GetString());
        Assert.Equal("Tiny", r.GetProperty("arch").GetString());
        Assert.Equal(1, r.GetProperty("threads").GetInt32());
        Assert.Equal(2, r.GetProperty("round_images_per_second").GetArrayLength());
        var ours = r.GetProperty("images_per_second").GetDouble();
        Assert.True(ours > 0);
        Assert.True(double.IsFinite(r.GetProperty("final_loss").GetDouble()));

        var peer = r.GetProperty("peer");
        Assert.Equal("pytorch", peer.GetProperty("impl").GetString());
        Assert.False(string.IsNullOrEmpty(peer.GetProperty("torch").GetString()));
        // The same thread count on both sides, and the same model: the parameter counts agree.
        Assert.Equal(1, peer.GetProperty("threads").GetInt32());
        Assert.Equal(r.GetProperty("parameters").GetInt64(), peer.GetProperty("parameters").GetInt64());
        Assert.Equal(2, peer.GetProperty("round_images_per_second").GetArrayLength());
        var theirs = peer.GetProperty("images_per_second").GetDouble();
        Assert.True(theirs > 0);
        Assert.True(peer.GetProperty("median_step_seconds").GetDouble() > 0);
        // A cross-entropy that trained: positive, finite, not diverged.
        Assert.InRange(peer.GetProperty("final_loss").GetDouble(), 1e-6, 10);

        var ratio = r.GetProperty("ratio").GetDouble();
        Assert.True(ratio > 0);
        Assert.Equal(ours / theirs, ratio, 6);
    }

    [Fact]
    public async Task APeerThatCannotRunIsAnErrorNamingThePython()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-python-{Guid.NewGuid():N}");
        var (code, _, stderr) = await CliProcess.RunAsync(TimeSpan.FromMinutes(2),
            "bench", "train", "--device", "cpu", "--arch", "Tiny", "--batch", "2", "--resolution", "32", "--steps", "1", "--warmup", "0",
            "--peer", "--python", missing, "--json");
        Assert.NotEqual(0, code);
        Assert.Contains(missing, stderr);
    }
}
