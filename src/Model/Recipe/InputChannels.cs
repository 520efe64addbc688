namespace BitActors.Model.Recipe;

/// <summary>
/// The one rule for a backbone and a dataset whose channels differ, "channels follow the backbone": the model keeps
/// the backbone's input channels (its root kernel is never summed or repeated, which under weight standardisation
/// would be another model) and the images are converted to them — a grayscale image fed to all three channels of an
/// RGB backbone, an RGB image turned to luma (ITU-R 601) for a grayscale one. Either way the model is exactly the
/// backbone. Asking for other channels than the backbone's is refused.
/// </summary>
public static class InputChannels
{
    public const string Rule = "channels follow the backbone";

    /// <summary>The model's input channels, and a line to log when the images are converted (null: nothing to say).</summary>
    public static (int Channels, string? Note) For(int backbone, int dataset, int? requested, string backboneName, string datasetName)
    {
        if (backbone is not (1 or 3)) throw new ArgumentException($"{backboneName} takes {backbone} input channels; 1 or 3 are supported");
        if (requested is int asked && asked != backbone)
            throw new ArgumentException($"--channels {asked}: {backboneName} takes {backbone} input channel(s); a model with other input channels " +
                $"would not be that backbone ({Rule}: leave --channels out, and the images are converted to the backbone's channels)");
        string? note = (backbone, dataset) switch
        {
            (3, 1) => $"{Rule}: {datasetName} is grayscale, {backboneName} is RGB: each gray image is fed to all three input channels (the backbone is used exactly)",
            (1, 3) => $"{Rule}: {datasetName} is RGB, {backboneName} is grayscale: images are converted to luma (ITU-R 601) (the backbone is used exactly)",
            _ => null,
        };
        return (backbone, note);
    }
}
