using Akka.Configuration;
using BitActors.Model.Training;
using BitActors.Streams.Images;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Hosting;

/// <summary>Reads the HOCON configuration: the reference (hocon/bitactors.conf, embedded) under a user file.</summary>
public static class BitActorsConfig
{
    public static Config Reference()
    {
        using var stream = typeof(BitActorsConfig).Assembly.GetManifestResourceStream("bitactors.conf")
            ?? throw new InvalidOperationException("reference configuration bitactors.conf is not embedded");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    }

    /// <summary>The reference configuration, overridden by <paramref name="userFile"/> when given.</summary>
    public static Config Load(string? userFile = null)
    {
        var reference = Reference();
        if (userFile is null) return reference;
        if (!File.Exists(userFile)) throw new FileNotFoundException($"configuration file not found: {userFile}", userFile);
        return ConfigurationFactory.ParseString(File.ReadAllText(userFile)).WithFallback(reference);
    }

    public static UpstreamSettings Upstream(Config config)
    {
        var c = config.GetConfig("bitactors.upstream");
        return new UpstreamSettings(
            c.GetString("dataset"), new ClassSubset(c.GetIntList("classes").ToArray()), c.GetString("arch"),
            Positive(c, "batch-size"), Positive(c, "steps"), c.GetDouble("base-lr-per-256"), c.GetDouble("warmup-fraction"),
            Augmentation(c, c.GetInt("channels")) ?? throw new InvalidDataException("bitactors.upstream: precrop and crop must be set"),
            Positive(c, "shuffle-buffer"), Positive(c, "decode-parallelism"), c.GetInt("seed"), Positive(c, "progress-every"),
            c.GetIntList("decay-epochs").ToArray(), Positive(c, "total-epochs"), c.GetDouble("weight-decay"),
            c.GetString("multi-label-loss") switch
            {
                "sigmoid" => MultiLabelLoss.Sigmoid,
                "softmax-split" => MultiLabelLoss.SoftmaxSplit,
                var other => throw new InvalidDataException($"bitactors.upstream.multi-label-loss must be sigmoid or softmax-split, not '{other}'"),
            },
            NonNegative(c, "checkpoint-every"), c.GetBoolean("ordered-data"), NonNegative(c, "max-restarts"),
            c.GetTimeSpan("restart-backoff").TotalSeconds, NonNegativeDouble(c, "mixup"),
            Norm(c), c.GetBoolean("weight-standardization"), c.GetBoolean("checkpoint-at-phase-change"), c.GetTimeSpan("dataset-wait").TotalSeconds);
    }

    public static FineTuneSettings FineTune(Config config, Config? overrides = null, int channels = 1)
    {
        var c = overrides is null ? config.GetConfig("bitactors.finetune") : overrides.WithFallback(config.GetConfig("bitactors.finetune"));
        return new FineTuneSettings(
            Positive(c, "batch-size"), c.GetDouble("base-lr"), Augmentation(c, channels), Positive(c, "shuffle-buffer"),
            Positive(c, "decode-parallelism"), Positive(c, "eval-batch-size"), Positive(c, "max-concurrent-tasks"),
            Positive(c, "progress-every"), c.GetBoolean("paper-resolution"), NonNegative(c, "micro-batch"), NonNegative(c, "max-steps"),
            NonNegative(c, "checkpoint-every"), c.GetBoolean("checkpoint-at-phase-change"), NonNegative(c, "max-restarts"), c.GetTimeSpan("restart-backoff").TotalSeconds);
    }

    private static BitActors.Model.Architecture.NormKind Norm(Config c)
    {
        try { return BitActors.Model.Architecture.KnownModels.ParseNorm(c.GetString("norm")); }
        catch (ArgumentException e) { throw new InvalidDataException($"bitactors.upstream.norm: {e.Message}"); }
    }

    private static AugmentSettings? Augmentation(Config c, int channels)
    {
        int precrop = c.GetInt("precrop"), crop = c.GetInt("crop");
        if (precrop == 0 && crop == 0) return null;
        if (crop <= 0 || precrop < crop) throw new InvalidDataException($"precrop ({precrop}) must be at least crop ({crop}), both positive");
        if (channels is not (1 or 3)) throw new InvalidDataException($"channels must be 1 or 3, not {channels}");
        return new AugmentSettings(precrop, crop, channels);
    }

    private static double NonNegativeDouble(Config c, string key)
    {
        var value = c.GetDouble(key);
        return value >= 0 ? value : throw new InvalidDataException($"configuration '{key}' must not be negative, not {value}");
    }

    private static int NonNegative(Config c, string key)
    {
        var value = c.GetInt(key);
        return value >= 0 ? value : throw new InvalidDataException($"configuration '{key}' must not be negative, not {value}");
    }

    private static int Positive(Config c, string key)
    {
        var value = c.GetInt(key);
        return value > 0 ? value : throw new InvalidDataException($"configuration '{key}' must be positive, not {value}");
    }
}
