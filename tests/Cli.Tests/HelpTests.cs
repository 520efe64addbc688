using System.Text.RegularExpressions;

namespace BitActors.Cli.Tests;

public class HelpTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    /// <summary>Walks the command tree from the root's help: every branch and command prints its help and
    /// exits 0 (a description with unescaped markup once made `publish --help` fail).</summary>
    [Fact]
    public async Task EveryCommandPrintsItsHelp()
    {
        var visited = new List<string>();
        var pending = new Queue<string[]>([[]]);
        while (pending.TryDequeue(out var path))
        {
            var (code, stdout, stderr) = await CliProcess.RunAsync(Timeout, [.. path, "--help"]);
            var name = path.Length == 0 ? "(root)" : string.Join(' ', path);
            Assert.True(code == 0, $"`bitactors {name} --help` exited {code}: {stderr}");
            Assert.Contains("USAGE:", stdout);
            visited.Add(name);
            foreach (var child in Subcommands(stdout)) pending.Enqueue([.. path, child]);
        }
        Assert.Contains("publish", visited);
        Assert.Contains("bench pipeline", visited);
        Assert.True(visited.Count >= 15, string.Join(", ", visited));
    }

    private static IEnumerable<string> Subcommands(string help)
    {
        var section = help.Split("COMMANDS:", 2);
        if (section.Length < 2) yield break;
        foreach (var line in section[1].Split('\n'))
        {
            var m = Regex.Match(line, @"^ {4}([a-z][a-z0-9-]*) {2,}");
            if (m.Success) yield return m.Groups[1].Value;
        }
    }
}
