using System.ComponentModel;
using BitActors.Cli.Demo;
using BitActors.Cli.Terminal;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BitActors.Cli.Commands;

/// <summary>
/// Chooses a setting on validation from demo runs that differ in it (<see cref="ValidationChoice"/>) and records the
/// runs, their validation scores and the pick in a choices file.
/// </summary>
public sealed class ReportChooseCommand(IAnsiConsole console) : Command<ReportChooseCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<RESULTS>")]
        [Description("The results.json of each run tried (at least two; the same few-shot tasks, differing in the setting).")]
        public string[] Results { get; init; } = [];

        [CommandOption("--setting <PATH>")]
        [Description("Where the setting is in results.json, e.g. finetune.base_lr, upstream.mixup, upstream.steps.")]
        public string Setting { get; init; } = "";

        [CommandOption("--arm <ARM>")]
        [Description("Whose validation top-1 scores the runs: transfer (default) or scratch.")]
        [DefaultValue("transfer")]
        public string Arm { get; init; } = "transfer";

        [CommandOption("--output <FILE>")]
        [Description("The choices file to write the choice into (default docs/demo/choices.json); an earlier choice of the same setting is replaced.")]
        [DefaultValue("docs/demo/choices.json")]
        public string Output { get; init; } = "docs/demo/choices.json";

        public override ValidationResult Validate() =>
            Setting.Length == 0 ? ValidationResult.Error("--setting is required, e.g. --setting finetune.base_lr")
            : Results.Length < 2 ? ValidationResult.Error("give the results.json of at least two runs")
            : Results.FirstOrDefault(f => !File.Exists(f)) is { } missing ? ValidationResult.Error($"{missing}: no such file")
            : Arm is not ("transfer" or "scratch") ? ValidationResult.Error($"--arm must be transfer or scratch, not '{Arm}'")
            : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var choice = ValidationChoice.Of(settings.Setting, settings.Arm, settings.Results);
        foreach (var line in choice.Lines()) console.WritePlainLine(line);
        choice.WriteInto(settings.Output);
        console.WritePlainLine($"written into {settings.Output}");
        return 0;
    }
}
