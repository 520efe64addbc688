using System.ComponentModel;
using System.Text.Json;
using BitActors.Cli.Terminal;
using BitActors.Model.Architecture;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BitActors.Cli.Commands;

public sealed class ModelInfoCommand(IAnsiConsole console) : Command<ModelInfoCommand.Settings>
{
    public sealed class Settings : ModelSettings
    {
        [CommandOption("--json")]
        [Description("Print JSON: arch, classes, parameters, units, width_factor, base_width, groups, norm, in_channels, feature_width, tensors, bytes_fp32.")]
        public bool Json { get; init; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var config = settings.Config();
        using var model = new ResNetV2(config, settings.ClassCount);
        var parameters = model.parameters().Sum(p => p.numel());
        var tensors = model.state_dict().Count;
        var bytes = model.state_dict().Values.Sum(t => t.NumberOfElements * t.ElementSize);
        if (settings.Json)
        {
            console.WritePlainLine(JsonSerializer.Serialize(new
            {
                arch = config.Name, classes = settings.ClassCount, parameters, units = config.Units, width_factor = config.WidthFactor,
                base_width = config.BaseWidth, groups = config.Groups, norm = config.NormLabel, in_channels = config.InChannels,
                feature_width = config.FeatureWidth, tensors, bytes_fp32 = bytes,
            }, Json.Options));
            return 0;
        }
        var table = new Table().AddColumns("property", "value");
        table.AddRow("architecture", config.Name);
        table.AddRow("units per stage", string.Join(", ", config.Units));
        table.AddRow("width factor", config.WidthFactor.ToString());
        table.AddRow("base width / groups", $"{config.BaseWidth} / {config.Groups}");
        table.AddRow("normalisation", config.NormLabel);
        table.AddRow("input channels", config.InChannels.ToString());
        table.AddRow("feature width", config.FeatureWidth.ToString());
        table.AddRow("classes", settings.ClassCount.ToString());
        table.AddRow("parameters", parameters.ToString("N0"));
        table.AddRow("checkpoint size (fp32)", $"{bytes / 1e6:F1} MB in {tensors} tensors");
        console.Write(table);
        return 0;
    }
}
