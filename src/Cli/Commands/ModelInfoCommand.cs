using System.ComponentModel;
using System.Text.Json;
using BitActors.Model.Architecture;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BitActors.Cli.Commands;

public sealed class ModelInfoCommand : Command<ModelInfoCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--arch <ARCH>")]
        [Description("R50x1 R101x1 R50x3 R101x3 R152x2 R152x4, or Tiny / Small.")]
        public string Arch { get; init; } = "R50x1";

        [CommandOption("--classes <K>")]
        [Description("Number of output classes (default 1000).")]
        [DefaultValue(1000)]
        public int Classes { get; init; } = 1000;

        [CommandOption("--channels <C>")]
        [Description("Input channels (default 3).")]
        [DefaultValue(3)]
        public int Channels { get; init; } = 3;

        [CommandOption("--json")]
        [Description("Print JSON: arch, classes, parameters.")]
        public bool Json { get; init; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var config = KnownModels.Get(settings.Arch, settings.Channels);
        using var model = new ResNetV2(config, settings.Classes);
        var parameters = model.parameters().Sum(p => p.numel());
        if (settings.Json)
        {
            System.Console.Out.WriteLine(JsonSerializer.Serialize(new
            {
                arch = config.Name, classes = settings.Classes, parameters, units = config.Units, width_factor = config.WidthFactor,
                base_width = config.BaseWidth, groups = config.Groups, in_channels = config.InChannels, feature_width = config.FeatureWidth,
            }));
            return 0;
        }
        var table = new Table().AddColumns("property", "value");
        table.AddRow("architecture", config.Name);
        table.AddRow("units per stage", string.Join(", ", config.Units));
        table.AddRow("width factor", config.WidthFactor.ToString());
        table.AddRow("base width / groups", $"{config.BaseWidth} / {config.Groups}");
        table.AddRow("feature width", config.FeatureWidth.ToString());
        table.AddRow("classes", settings.Classes.ToString());
        table.AddRow("parameters", parameters.ToString("N0"));
        AnsiConsole.Write(table);
        return 0;
    }
}
