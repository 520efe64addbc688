using System.Text.Json;

namespace BitActors.Cli.Tests;

public class BenchPipelineTests
{
    [Fact]
    public async Task BenchPipelineReportsThePlainLoopThePipelineAndTheirRatio()
    {
        var (code, stdout, stderr) = await CliProcess.RunAsync(TimeSpan.FromMinutes(4),
            "bench", "pipeline", "--images", "256", "--batch", "16", "--cases", "png32", "--rounds", "2", "--source-order", "--json");
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout.Trim().Split('\n').Last());
        var r = json.RootElement;
        Assert.Equal("png32", r.GetProperty("case").GetString());
        Assert.True(r.GetProperty("a_plain_loop").GetDouble() > 0);
        Assert.True(r.GetProperty("b_pipeline").GetDouble() > 0);
        // (a), (b) and the memory-fed pipeline run interleaved for --rounds rounds; b_over_a is the median of the
        // per-round ratios, which are printed to 0.1 image/s, so the ratio recomputed from them agrees only to within rounding.
        var rounds = r.GetProperty("per_round").EnumerateArray().Select(x => x.GetProperty("b").GetDouble() / x.GetProperty("a").GetDouble()).Order().ToArray();
        Assert.Equal(2, r.GetProperty("rounds").GetInt32());
        Assert.Equal(2, rounds.Length);
        var recomputed = (rounds[0] + rounds[1]) / 2;
        Assert.InRange(r.GetProperty("b_over_a").GetDouble(), recomputed * 0.98 - 0.001, recomputed * 1.02 + 0.001);
        Assert.InRange(r.GetProperty("b_over_a_range").GetDouble(), (rounds[1] - rounds[0]) * 0.98 - 0.002, (rounds[1] - rounds[0]) * 1.02 + 0.002);
        // --source-order: the same images from a class-sorted and from a shuffled source, and the ratio.
        Assert.True(r.GetProperty("d_sorted_source").GetDouble() > 0);
        Assert.True(r.GetProperty("e_shuffled_source").GetDouble() > 0);
        Assert.True(r.GetProperty("d_over_e").GetDouble() > 0);
        // The peer needs python3-torchvision: either its figure or the reason it is missing.
        Assert.True(r.GetProperty("c_torchvision").ValueKind == JsonValueKind.Number || r.GetProperty("c_error").GetString()!.Length > 0);
    }
}
