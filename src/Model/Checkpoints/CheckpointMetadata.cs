using System.Globalization;
using System.Text.Json;
using BitActors.Model.Architecture;

namespace BitActors.Model.Checkpoints;

/// <summary>
/// What a checkpoint says about itself: the model (architecture, norm, weight standardisation, input channels,
/// classes), what its outputs mean (class names, and the dataset's class ids when a task trained a subset), the
/// resolution it was trained at (<c>Crop</c>), and where it came from (dataset, run, task). Every file the project
/// writes carries it as text key/values (<c>bitactors.*</c>): safetensors' <c>__metadata__</c>, a
/// <c>bitactors.json</c> member of a .npz, a trailer after the tensors of a native file, ONNX <c>metadata_props</c>.
/// </summary>
public sealed record CheckpointMetadata
{
    public const string Prefix = "bitactors.";

    public required string Arch { get; init; }
    public NormKind Norm { get; init; } = NormKind.GroupNorm;
    public bool WeightStandardization { get; init; } = true;
    public required int Channels { get; init; }
    public required int Classes { get; init; }

    /// <summary>The name of each output, in output order (null: unknown).</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>The dataset class id of each output, where a task trained a subset of the dataset's classes.</summary>
    public IReadOnlyList<int>? ClassIds { get; init; }

    /// <summary>The square side the model was trained at (its eval resolution).</summary>
    public int? Crop { get; init; }

    public string? Dataset { get; init; }
    public string? Run { get; init; }
    public string? Task { get; init; }

    public ResNetV2Config Config => KnownModels.Get(Arch, Channels, Norm, WeightStandardization);

    /// <summary>The model's own description (architecture, norm, channels, classes); the caller adds the rest.</summary>
    public static CheckpointMetadata Of(ResNetV2 model) => new()
    {
        Arch = model.Config.Name, Norm = model.Config.Norm, WeightStandardization = model.Config.WeightStandardization,
        Channels = model.Config.InChannels, Classes = model.NumClasses,
    };

    public IReadOnlyDictionary<string, string> ToStrings()
    {
        var d = new Dictionary<string, string>
        {
            ["format"] = "pt", // safetensors' convention for PyTorch state dicts
            [Prefix + "arch"] = Arch,
            [Prefix + "norm"] = ResNetV2Config.LabelOf(Norm, WeightStandardization),
            [Prefix + "weight_standardization"] = WeightStandardization ? "true" : "false",
            [Prefix + "in_channels"] = Channels.ToString(CultureInfo.InvariantCulture),
            [Prefix + "classes"] = Classes.ToString(CultureInfo.InvariantCulture),
        };
        if (ClassNames is not null) d[Prefix + "class_names"] = JsonSerializer.Serialize(ClassNames);
        if (ClassIds is not null) d[Prefix + "class_ids"] = JsonSerializer.Serialize(ClassIds);
        if (Crop is int crop) d[Prefix + "crop"] = crop.ToString(CultureInfo.InvariantCulture);
        if (Dataset is not null) d[Prefix + "dataset"] = Dataset;
        if (Run is not null) d[Prefix + "run"] = Run;
        if (Task is not null) d[Prefix + "task"] = Task;
        return d;
    }

    /// <summary>The metadata in <paramref name="strings"/>; null when it holds no <c>bitactors.arch</c> (a file from elsewhere).</summary>
    public static CheckpointMetadata? FromStrings(IReadOnlyDictionary<string, string> strings, string path)
    {
        if (!strings.TryGetValue(Prefix + "arch", out var arch)) return null;
        string? Get(string key) => strings.TryGetValue(Prefix + key, out var v) ? v : null;
        int Int(string key) => int.TryParse(Get(key), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v
            : throw new CorruptCheckpointException($"{path}: metadata {Prefix}{key} is '{Get(key)}', not a number");
        T? Json<T>(string key) where T : class
        {
            if (Get(key) is not { } text) return null;
            try { return JsonSerializer.Deserialize<T>(text); }
            catch (JsonException e) { throw new CorruptCheckpointException($"{path}: metadata {Prefix}{key} is not a JSON list ({e.Message})"); }
        }
        // "GN+WS", "GN", "BN+WS", "BN"; files of earlier versions wrote only the label.
        var label = Get("norm") ?? "GN+WS";
        var metadata = new CheckpointMetadata
        {
            Arch = arch,
            Norm = label.StartsWith("BN", StringComparison.Ordinal) ? NormKind.BatchNorm : NormKind.GroupNorm,
            WeightStandardization = Get("weight_standardization") is { } ws ? ws == "true" : label.EndsWith("+WS", StringComparison.Ordinal),
            Channels = Int("in_channels"),
            Classes = Int("classes"),
            ClassNames = Json<string[]>("class_names"),
            ClassIds = Json<int[]>("class_ids"),
            Crop = Get("crop") is null ? null : Int("crop"),
            Dataset = Get("dataset"), Run = Get("run"), Task = Get("task"),
        };
        if (!KnownModels.All.ContainsKey(arch)) throw new CorruptCheckpointException($"{path}: metadata names an unknown architecture '{arch}'");
        if (metadata.ClassNames is { } names && names.Count != metadata.Classes)
            throw new CorruptCheckpointException($"{path}: metadata names {names.Count} classes for a head of {metadata.Classes}");
        return metadata;
    }

    /// <summary>The metadata as one JSON object of strings (the form .npz and native files keep).</summary>
    public static byte[] ToJson(IReadOnlyDictionary<string, string> strings) => JsonSerializer.SerializeToUtf8Bytes(strings);

    public static IReadOnlyDictionary<string, string> FromJson(ReadOnlySpan<byte> json, string path)
    {
        try { return JsonSerializer.Deserialize<Dictionary<string, string>>(json) ?? []; }
        catch (JsonException e) { throw new CorruptCheckpointException($"{path}: its metadata is not a JSON object of strings ({e.Message})"); }
    }

    /// <summary>The class names of a head, or <c>class N</c> where none are known.</summary>
    public string NameOf(int output) => ClassNames is { } names && output < names.Count ? names[output] : $"class {output}";
}
