using System.Text.Json;
using System.Text.RegularExpressions;

namespace BitActors.Cli.Tests;

/// <summary>What a platform team relies on: `--version` from the project file, logs as JSON lines on request, and
/// container images that run unprivileged, say when they are healthy, draw plots with text and log JSON.</summary>
public class OperationsTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);
    private static readonly string Root = FindRoot();

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "BitActors.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException($"no BitActors.sln above {AppContext.BaseDirectory}");
    }

    [Fact]
    public async Task VersionPrintsTheProjectFilesVersionWhichTheChangelogLists()
    {
        var version = Regex.Match(File.ReadAllText(Path.Combine(Root, "Directory.Build.props")), "<Version>([^<]+)</Version>").Groups[1].Value;
        Assert.Matches(@"^\d+\.\d+\.\d+", version);
        var (code, stdout, stderr) = await CliProcess.RunAsync(Timeout, "--version");
        Assert.True(code == 0, stderr);
        Assert.Equal(version, stdout.Trim());
        Assert.Contains($"## [{version}]", File.ReadAllText(Path.Combine(Root, "CHANGELOG.md")));
        Assert.True(File.Exists(Path.Combine(Root, "LICENSE")));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task LogFormatJsonWritesEveryLogLineAsOneJsonObjectWhereverTheOptionStands(bool beforeTheCommand)
    {
        var missing = Path.Combine(Path.GetTempPath(), $"bitactors-no-such-{Guid.NewGuid():N}.safetensors");
        string[] command = ["predict", "--checkpoint", missing, "--arch", "Tiny", "--classes", "10", "any.png"];
        string[] args = beforeTheCommand ? ["--log-format", "json", .. command] : [.. command, "--log-format=json"];
        var (code, _, stderr) = await CliProcess.RunAsync(Timeout, args);
        Assert.NotEqual(0, code);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.NotEmpty(lines);
        var events = lines.Select(line => JsonDocument.Parse(line).RootElement).ToList();
        var fatal = Assert.Single(events, e => e.TryGetProperty("@l", out var l) && l.GetString() == "Fatal");
        Assert.StartsWith("bitactors failed: ", fatal.GetProperty("@m").GetString());
        Assert.True(fatal.TryGetProperty("@t", out _));
    }

    [Fact]
    public async Task AnUnknownLogFormatIsRefusedNamingTheFormatsThereAre()
    {
        var (code, _, stderr) = await CliProcess.RunAsync(Timeout, "--log-format", "xml", "hyperrule", "--examples", "100");
        Assert.Equal(2, code);
        Assert.Contains("--log-format 'xml' is not one of: text, json", stderr);
    }

    [Fact]
    public void EveryRuntimeImageRunsUnprivilegedWithAHealthCheckFontsAndJsonLogs()
    {
        var dockerfile = File.ReadAllText(Path.Combine(Root, "infra", "Dockerfile"));
        var stages = Regex.Split(dockerfile, @"^FROM ", RegexOptions.Multiline).Skip(1).Where(s => !s.Contains(" AS build")).ToList();
        Assert.Equal(2, stages.Count);
        foreach (var stage in stages)
        {
            var name = stage[..stage.IndexOf('\n')];
            Assert.Matches(new Regex(@"^USER \$APP_UID", RegexOptions.Multiline), stage);
            Assert.True(stage.IndexOf("\nUSER ", StringComparison.Ordinal) > stage.IndexOf("\nCOPY ", StringComparison.Ordinal), $"{name}: USER comes after the files are copied");
            Assert.Contains("HEALTHCHECK", stage);
            Assert.Contains("fonts-dejavu-core", stage);
            Assert.Contains("BITACTORS_LOG_FORMAT=json", stage);
        }
        var check = File.ReadAllText(Path.Combine(Root, "infra", "healthcheck.sh"));
        Assert.Contains("/alive", check);
    }

    /// <summary>The Grafana dashboard parses and queries only series that docs/operations.md lists (which the metrics
    /// endpoint tests scrape), so no panel is empty for a misspelt name.</summary>
    [Fact]
    public void TheGrafanaDashboardQueriesOnlyTheSeriesTheNodesServe()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "infra", "grafana", "bitactors-dashboard.json")));
        var documented = Regex.Matches(File.ReadAllText(Path.Combine(Root, "docs", "operations.md")), @"`(bitactors_[a-z_]+)`").Select(m => m.Groups[1].Value).ToHashSet();
        var queried = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray()).Select(t => t.GetProperty("expr").GetString()!)
            .SelectMany(e => Regex.Matches(e, @"bitactors_[a-z_]+").Select(m => m.Value)).ToHashSet();
        Assert.True(queried.Count >= 10, string.Join(", ", queried));
        Assert.Empty(queried.Except(documented));
    }
}
