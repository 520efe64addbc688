using System.ComponentModel;
using System.Text.Json;
using BitActors.Cli.Terminal;
using BitActors.Model.Recipe;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BitActors.Cli.Commands;

public sealed class HyperRuleCommand(IAnsiConsole console) : Command<HyperRuleCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--examples <N>")]
        [Description("Number of training examples (for few-shot: k × classes).")]
        public int Examples { get; init; }

        [CommandOption("--image-size <HxW>")]
        [Description("Original image size, e.g. 28x28.")]
        public string ImageSize { get; init; } = "";

        [CommandOption("--variant <VARIANT>")]
        [Description("code (bit_hyperrule.py: 512/480 for large images) or paper (448/384).")]
        [DefaultValue("code")]
        public string Variant { get; init; } = "code";

        [CommandOption("--json")]
        [Description("Print JSON: precrop, crop, mixup, supports, lr.")]
        public bool Json { get; init; }

        public override ValidationResult Validate()
        {
            if (Examples <= 0) return ValidationResult.Error("--examples must be positive");
            if (!TryParseSize(ImageSize, out _, out _)) return ValidationResult.Error($"--image-size must look like 28x28, not '{ImageSize}'");
            return Variant is "code" or "paper" ? ValidationResult.Success() : ValidationResult.Error("--variant is code or paper");
        }
    }

    public static bool TryParseSize(string text, out int height, out int width)
    {
        height = width = 0;
        var parts = text.ToLowerInvariant().Split('x');
        return parts.Length == 2 && int.TryParse(parts[0], out height) && int.TryParse(parts[1], out width) && height > 0 && width > 0;
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        TryParseSize(settings.ImageSize, out var h, out var w);
        var resolution = HyperRule.ResolutionFor(h, w, settings.Variant == "paper");
        var (warmup, decays, total) = HyperRule.Supports(settings.Examples);
        var schedule = HyperRule.Schedule(settings.Examples);
        int[] supports = [warmup, .. decays, total];
        if (settings.Json)
        {
            console.WritePlainLine(JsonSerializer.Serialize(new
            {
                precrop = resolution.Precrop, crop = resolution.Crop, mixup = HyperRule.MixUp(settings.Examples), supports,
                lr = schedule.BaseLr, batch = HyperRule.BatchSize, momentum = HyperRule.Momentum, weight_decay = HyperRule.WeightDecay, steps = total,
            }));
            return 0;
        }
        var table = new Table().AddColumns("decision", "value");
        table.AddRow("resize / random crop", $"{resolution.Precrop} / {resolution.Crop} (eval: resize to {resolution.Crop})");
        table.AddRow("steps", $"{total} (warmup {warmup}, ÷10 at {string.Join(", ", decays)})");
        table.AddRow("learning rate", $"{schedule.BaseLr} at batch {HyperRule.BatchSize}, momentum {HyperRule.Momentum}, no weight decay");
        table.AddRow("MixUp α", HyperRule.MixUp(settings.Examples).ToString());
        console.Write(table);
        return 0;
    }
}
