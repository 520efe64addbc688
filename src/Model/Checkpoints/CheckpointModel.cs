using BitActors.Model.Architecture;

namespace BitActors.Model.Checkpoints;

/// <summary>A checkpoint's model: its configuration, classes and metadata, as the file says and the options agree.</summary>
public sealed record CheckpointModel(ResNetV2Config Config, int Classes, CheckpointInfo Info)
{
    public CheckpointMetadata Metadata => Info.Metadata;

    /// <summary>
    /// Reads what <paramref name="path"/> says of its model and checks every given option against it: an option that
    /// disagrees is refused, naming both values and where the file's came from.
    /// </summary>
    public static CheckpointModel Resolve(string path, string? arch, int? classes, int? channels, NormKind? norm, bool? weightStandardization, bool needsHead,
        Func<string, string>? optionName = null)
    {
        optionName ??= o => "--" + o;
        var info = CheckpointFiles.Inspect(path);
        var m = info.Metadata;
        void Agree(string option, object? given, object held)
        {
            if (given is not null && !given.Equals(held))
                throw new ArgumentException($"{option} {Show(given)} disagrees with {path}, which holds {Show(held)} (from {info.Source}); leave the option out");
        }
        static string Show(object value) => value switch
        {
            NormKind n => n == NormKind.GroupNorm ? "gn" : "bn",
            bool b => b ? "weight-standardised convolutions" : "plain convolutions",
            _ => $"{value}",
        };
        Agree(optionName("arch"), arch is null ? null : KnownModels.Get(arch).Name, m.Arch);
        Agree(optionName("channels"), channels, m.Channels);
        if (info.FromMetadata || m.Classes > 0) Agree(optionName("classes"), classes, m.Classes);
        Agree(optionName("norm"), norm, m.Norm);
        Agree(optionName("no-ws"), weightStandardization, m.WeightStandardization);
        int k = m.Classes > 0 ? m.Classes : classes ?? 0;
        if (k == 0 && needsHead) throw new ArgumentException($"{path} has no classification head: nothing to predict with");
        return new CheckpointModel(m.Config, k, info);
    }
}
