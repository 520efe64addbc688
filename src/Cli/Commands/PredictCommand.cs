using System.ComponentModel;
using System.Text.Json;
using BitActors.Cli.Terminal;
using BitActors.Model.Inference;
using BitActors.Model.Recipe;
using BitActors.Streams.Images;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BitActors.Cli.Commands;

/// <summary>
/// Classifies image files with a checkpoint, using BiT's evaluation preprocessing: resize to the
/// resolution (no resampling when the image already has it), scale to [-1, 1].
/// </summary>
public sealed class PredictCommand(IAnsiConsole console) : Command<PredictCommand.Settings>
{
    public sealed class Settings : ModelSettings
    {
        [CommandOption("--checkpoint <FILE>")]
        [Description("Weights: .npz (Google's BiT layout), .safetensors (timm's names) or a native checkpoint. Its head must have --classes outputs.")]
        public string Checkpoint { get; init; } = "";

        [CommandOption("--image <FILE>")]
        [Description("An image to classify (PNG, JPEG, BMP, WebP); repeat it, or list images after the options.")]
        public string[] Image { get; init; } = [];

        [CommandArgument(0, "[IMAGES]")]
        [Description("More images to classify.")]
        public string[] More { get; init; } = [];

        [CommandOption("--resolution <R>")]
        [Description("Side of the square the images are resized to. Default: the HyperRule's test resolution for each image (128 under 96x96 pixels, else 480).")]
        public int? Resolution { get; init; }

        [CommandOption("--labels <FILE>")]
        [Description("Class names, one per line in class order, shown beside the indices.")]
        public string? Labels { get; init; }

        [CommandOption("--top <K>")]
        [Description("How many classes to show per image (default 5).")]
        [DefaultValue(5)]
        public int Top { get; init; } = 5;

        [CommandOption("--json")]
        [Description("Print JSON: the checkpoint, and per image its logits and top classes (index, label, logit, probability).")]
        public bool Json { get; init; }

        public IReadOnlyList<string> Images => [.. Image, .. More];

        public override ValidationResult Validate()
        {
            if (string.IsNullOrWhiteSpace(Checkpoint)) return ValidationResult.Error("--checkpoint FILE is required");
            if (Images.Count == 0) return ValidationResult.Error("give at least one image (--image FILE, or file names after the options)");
            if (Resolution is < 8) return ValidationResult.Error("--resolution must be at least 8");
            if (Top < 1) return ValidationResult.Error("--top must be at least 1");
            return base.Validate();
        }
    }

    private sealed record Ranked(int Class, string? Label, float Logit, float Probability);

    private sealed record Classified(string Image, int Width, int Height, int Resolution, float[] Logits, IReadOnlyList<Ranked> Top);

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var labels = settings.Labels is null ? null : File.ReadAllLines(settings.Labels).Where(l => l.Length > 0).ToArray();
        if (labels is not null && labels.Length != settings.Classes)
            throw new InvalidDataException($"--labels {settings.Labels} names {labels.Length} classes; the model has {settings.Classes}");

        var config = settings.Config();
        using var predictor = Predictor.Load(config, settings.Classes, settings.Checkpoint);
        var load = predictor.Checkpoint;

        var predictions = new List<Classified>();
        var errors = new List<(string Image, string Error)>();
        foreach (var path in settings.Images)
        {
            try
            {
                predictions.Add(Classify(predictor, path, settings, labels));
            }
            catch (Exception e) when (e is CorruptImageException or IOException or UnauthorizedAccessException)
            {
                errors.Add((path, e.Message));
            }
        }

        if (settings.Json)
        {
            console.WritePlainLine(JsonSerializer.Serialize(new
            {
                checkpoint = load.Path, format = load.Format, arch = config.Name, norm = config.NormLabel, classes = settings.Classes,
                predictions = predictions.Select(p => new
                {
                    image = p.Image, width = p.Width, height = p.Height, resolution = p.Resolution, logits = p.Logits,
                    top = p.Top.Select(r => new { @class = r.Class, label = r.Label, logit = r.Logit, probability = r.Probability }),
                }),
                errors = errors.Select(e => new { image = e.Image, error = e.Error }),
            }, Json.Options));
        }
        else
        {
            var table = new Table().AddColumns("image", "size", "class", "label", "logit", "probability");
            foreach (var p in predictions)
                foreach (var (r, i) in p.Top.Select((r, i) => (r, i)))
                    table.AddRow(i == 0 ? Markup.Escape(p.Image) : "", i == 0 ? $"{p.Width}x{p.Height}→{p.Resolution}" : "",
                        r.Class.ToString(), Markup.Escape(r.Label ?? ""), r.Logit.ToString("F3"), r.Probability.ToString("P1"));
            console.Write(table);
        }
        foreach (var (image, error) in errors) Serilog.Log.Error("{Image}: {Error}", image, error);
        return errors.Count == 0 ? 0 : 1;
    }

    // Decoding and BiT's eval transform happen here (BitActors.Streams.Images); the predictor sees model input only.
    private static Classified Classify(Predictor predictor, string path, Settings settings, string[]? labels)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"image not found: {path}", path);
        using var bitmap = ImageCodec.Decode(File.ReadAllBytes(path));
        int resolution = settings.Resolution ?? HyperRule.ResolutionFor(bitmap.Height, bitmap.Width).Crop;
        var pixels = Augment.Eval(bitmap, new AugmentSettings(resolution, resolution, predictor.Config.InChannels, Flip: false));
        var prediction = predictor.Predict(pixels, resolution, settings.Top);
        var top = prediction.Top.Select(r => new Ranked(r.Class, labels?[r.Class], r.Logit, r.Probability)).ToList();
        return new Classified(path, bitmap.Width, bitmap.Height, resolution, prediction.Logits, top);
    }
}
