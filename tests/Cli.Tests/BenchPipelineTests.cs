using System.Text.Json;

namespace BitActors.Cli.Tests;

public class BenchPipelineTests
{
    [Fact]
    public async Task BenchPipelineReportsThePlainLoopThePipelineAndTheirRatio()
    {
        var (code, stdout, stderr) = await CliProcess.RunAsync(TimeSpan.FromMinutes(4),
            "bench", "pipeline", "--images", "256", "--batch", "16", "--cases", "png32", "--source-order", "--json");
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout.Trim().Split('\n').Last());
        var r = json.RootElement;
        Assert.Equal("png32", r.GetProperty("case").GetString());
        Assert.True(r.GetProperty("a_plain_loop").GetDouble() > 0);
        Assert.True(r.GetProperty("b_pipeline").GetDouble() > 0);
        // The rates are printed to 0.1 image/s and the ratio from the unrounded rates, so the ratio
        // recomputed from the printed rates agrees only to within their rounding.
        var recomputed = r.GetProperty("b_pipeline").GetDouble() / r.GetProperty("a_plain_loop").GetDouble();
        Assert.InRange(r.GetProperty("b_over_a").GetDouble(), recomputed * 0.98 - 0.001, recomputed * 1.02 + 0.001);
        // --source-order: the same images from a class-sorted and from a shuffled source, and the ratio.
        Assert.True(r.GetProperty("d_sorted_source").GetDouble() > 0);
        Assert.True(r.GetProperty("e_shuffled_source").GetDouble() > 0);
        Assert.True(r.GetProperty("d_over_e").GetDouble() > 0);
        // The peer needs python3-torchvision: either its figure or the reason it is missing.
        Assert.True(r.GetProperty("c_torchvision").ValueKind == JsonValueKind.Number || r.GetProperty("c_error").GetString()!.Length > 0);
    }
}
