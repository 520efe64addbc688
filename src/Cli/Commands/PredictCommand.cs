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
        [Description("Weights: .npz (Google's BiT layout), .safetensors (timm's names) or a native checkpoint. The project's files say their architecture, classes, channels and class names; for others they are inferred from the arrays.")]
        public string Checkpoint { get; init; } = "";

        [CommandOption("--image <FILE>")]
        [Description("An image to classify (PNG, JPEG, BMP, WebP); repeat it, or list images after the options.")]
        public string[] Image { get; init; } = [];

        [CommandArgument(0, "[IMAGES]")]
        [Description("More images to classify.")]
        public string[] More { get; init; } = [];

        [CommandOption("--resolution <R>")]
        [Description("Side of the square the images are resized to. Default: the resolution the checkpoint was trained at (its metadata), else the HyperRule's test resolution for each image (128 under 96x96 pixels, else 480).")]
        public int? Resolution { get; init; }

        [CommandOption("--labels <FILE>")]
        [Description("Class names, one per line in class order, shown beside the indices (default: the checkpoint's own class names, if it has them).")]
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

    private sealed record Ranked(int Class, string? Label, int? DatasetClass, float Logit, float Probability);

    private sealed record Classified(string Image, int Width, int Height, int Resolution, float[] Logits, IReadOnlyList<Ranked> Top);

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var model = settings.FromCheckpoint(settings.Checkpoint, needsHead: true);
        var metadata = model.Metadata;
        var labels = settings.Labels is null ? metadata.ClassNames?.ToArray() : File.ReadAllLines(settings.Labels).Where(l => l.Length > 0).ToArray();
        if (labels is not null && labels.Length != model.Classes)
            throw new InvalidDataException($"--labels {settings.Labels} names {labels.Length} classes; the model has {model.Classes}");

        var config = model.Config;
        using var predictor = Predictor.Load(config, model.Classes, settings.Checkpoint);
        var load = predictor.Checkpoint;

        var predictions = new List<Classified>();
        var errors = new List<(string Image, string Error)>();
        foreach (var path in settings.Images)
        {
            try
            {
                predictions.Add(Classify(predictor, path, settings.Resolution ?? metadata.Crop, settings.Top, labels, metadata.ClassIds));
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
                checkpoint = load.Path, format = load.Format, arch = config.Name, norm = config.NormLabel, channels = config.InChannels, classes = model.Classes,
                described_by = model.Info.FromMetadata ? "metadata" : "arrays",
                class_names = labels, dataset = metadata.Dataset, run = metadata.Run, task = metadata.Task,
                predictions = predictions.Select(p => new
                {
                    image = p.Image, width = p.Width, height = p.Height, resolution = p.Resolution, logits = p.Logits,
                    top = p.Top.Select(r => new { @class = r.Class, label = r.Label, dataset_class = r.DatasetClass, logit = r.Logit, probability = r.Probability }),
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
    private static Classified Classify(Predictor predictor, string path, int? resolution, int topK, string[]? labels, IReadOnlyList<int>? datasetClasses)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"image not found: {path}", path);
        using var bitmap = ImageCodec.Decode(File.ReadAllBytes(path));
        int side = resolution ?? HyperRule.ResolutionFor(bitmap.Height, bitmap.Width).Crop;
        var pixels = Augment.Eval(bitmap, new AugmentSettings(side, side, predictor.Config.InChannels, Flip: false));
        var prediction = predictor.Predict(pixels, side, topK);
        var top = prediction.Top.Select(r => new Ranked(r.Class, labels?[r.Class], datasetClasses?[r.Class], r.Logit, r.Probability)).ToList();
        return new Classified(path, bitmap.Width, bitmap.Height, side, prediction.Logits, top);
    }
}
