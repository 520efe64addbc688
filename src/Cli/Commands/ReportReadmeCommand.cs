using System.ComponentModel;
using BitActors.Cli.Demo;
using BitActors.Cli.Terminal;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BitActors.Cli.Commands;

/// <summary>
/// Rewrites the README's results block from a committed demo results file (<see cref="ReadmeResults"/>), or with
/// <c>--check</c> says whether the block is what the file gives (exit code 1 when it is not).
/// </summary>
public sealed class ReportReadmeCommand(IAnsiConsole console) : Command<ReportReadmeCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--results <FILE>")]
        [Description("A demo's results.json (default docs/demo/demo-results.json).")]
        [DefaultValue("docs/demo/demo-results.json")]
        public string Results { get; init; } = "docs/demo/demo-results.json";

        [CommandOption("--readme <FILE>")]
        [Description("The markdown file holding the results block (default README.md).")]
        [DefaultValue("README.md")]
        public string Readme { get; init; } = "README.md";

        [CommandOption("--check")]
        [Description("Change nothing: exit 1 when the block differs from what the results file gives.")]
        public bool Check { get; init; }

        public override ValidationResult Validate() =>
            !File.Exists(Results) ? ValidationResult.Error($"--results {Results}: no such file")
            : !File.Exists(Readme) ? ValidationResult.Error($"--readme {Readme}: no such file")
            : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var readme = File.ReadAllText(settings.Readme);
        var block = ReadmeResults.Render(settings.Results, Path.GetDirectoryName(Path.GetFullPath(settings.Readme))!);
        var rewritten = ReadmeResults.Rewrite(readme, block);
        if (settings.Check)
        {
            if (rewritten == readme)
            {
                console.WritePlainLine($"{settings.Readme}: the results block is what {settings.Results} gives");
                return 0;
            }
            console.WritePlainLine($"{settings.Readme}: the results block differs from what {settings.Results} gives; run `bitactors report readme`");
            return 1;
        }
        File.WriteAllText(settings.Readme, rewritten);
        console.WritePlainLine($"{settings.Readme}: results block rewritten from {settings.Results}");
        return 0;
    }
}
