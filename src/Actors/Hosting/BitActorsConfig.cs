using System.Text.RegularExpressions;
using Akka.Configuration;
using Akka.Configuration.Hocon;
using BitActors.Streams.Kafka;
using BitActors.Model.Training;
using BitActors.Streams.Datasets;
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

    /// <summary>Environment variables that override configuration keys start with this (see <see cref="Load"/>).</summary>
    public const string EnvironmentPrefix = "BITACTORS__";

    /// <summary>
    /// The configuration, each layer overriding the ones after it: <paramref name="settings"/> (<c>--set key=value</c>
    /// flags), environment variables (<c>BITACTORS__UPSTREAM__BATCH_SIZE=32</c> is <c>bitactors.upstream.batch-size = 32</c>:
    /// <c>__</c> separates path segments, <c>_</c> stands for <c>-</c>), <paramref name="userFile"/> (<c>--config</c>),
    /// then the reference (hocon/bitactors.conf). A <c>bitactors.*</c> key that the reference lacks is refused in every
    /// layer, naming where it came from. The Kafka client properties it names: <see cref="KafkaClient"/>.
    /// <paramref name="demo"/> (the <c>demo</c> command only): in every layer, <c>bitactors.demo.upstream</c> and
    /// <c>bitactors.demo.finetune</c> replace that layer's <c>bitactors.upstream</c> and <c>bitactors.finetune</c> keys
    /// (the CPU profile), so a later layer may still set either name.
    /// </summary>
    public static Config Load(string? userFile = null, IEnumerable<string>? settings = null, IDictionary<string, string>? environment = null, bool demo = false)
    {
        var reference = Reference();
        var config = demo ? DemoProfileOf(reference).WithFallback(reference) : reference;
        if (userFile is not null)
        {
            if (!File.Exists(userFile)) throw new FileNotFoundException($"configuration file not found: {userFile}", userFile);
            var file = ConfigurationFactory.ParseString(File.ReadAllText(userFile));
            RefuseUnknownKeys(file, config, $"--config {userFile}");
            config = file.WithFallback(config);
            if (demo) config = DemoProfileOf(file).WithFallback(config);
        }
        environment ??= Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "");
        foreach (var (name, value) in environment.Where(e => e.Key.StartsWith(EnvironmentPrefix, StringComparison.Ordinal)).OrderBy(e => e.Key, StringComparer.Ordinal))
            config = Override(config, KeyOfVariable(name), value, $"environment variable {name}", demo);
        foreach (var setting in settings ?? [])
        {
            var eq = setting.IndexOf('=');
            if (eq <= 0) throw new InvalidDataException($"--set '{setting}': expected KEY=VALUE, e.g. bitactors.upstream.steps=200");
            config = Override(config, setting[..eq].Trim(), setting[(eq + 1)..].Trim(), $"--set {setting}", demo);
        }
        return config;
    }

    /// <summary>The sections of the demo's profile that <paramref name="layer"/> itself sets, moved to where they apply.</summary>
    private static Config DemoProfileOf(Config layer)
    {
        var text = string.Join("\n", DemoSections
            .Where(s => layer.HasPath($"bitactors.demo.{s}"))
            .Select(s => $"bitactors.{s} {{\n{layer.GetValue($"bitactors.demo.{s}")}\n}}")); // an object's text comes without its braces
        return ConfigurationFactory.ParseString(text);
    }

    private static readonly string[] DemoSections = ["upstream", "finetune"];

    /// <summary>A key of a demo section (<c>bitactors.demo[.study].finetune.X</c>, <c>bitactors.demo.upstream.X</c>) whose section has X.</summary>
    private static bool ProfileKeyKnown(Config reference, string key) =>
        Regex.Match(key, @"^bitactors\.demo\.(?:[a-z-]+\.)*(?<section>finetune|upstream)\.(?<key>.+)$") is { Success: true } m
        && reference.HasPath($"bitactors.{m.Groups["section"].Value}.{m.Groups["key"].Value}");

    /// <summary><c>BITACTORS__UPSTREAM__BATCH_SIZE</c> → <c>bitactors.upstream.batch-size</c>.</summary>
    public static string KeyOfVariable(string name) =>
        string.Join('.', ("BITACTORS__" + name[EnvironmentPrefix.Length..]).Split("__").Select(s => s.ToLowerInvariant().Replace('_', '-')));

    private static Config Override(Config config, string key, string value, string origin, bool demo = false)
    {
        if (demo && Regex.Match(key, @"^bitactors\.demo\.(?<section>upstream|finetune)\.(?<rest>.+)$") is { Success: true } lifted)
            config = Override(config, $"bitactors.{lifted.Groups["section"].Value}.{lifted.Groups["rest"].Value}", value, origin);
        if (!key.StartsWith("bitactors.", StringComparison.Ordinal) && !key.StartsWith("akka.", StringComparison.Ordinal))
            throw new InvalidDataException($"{origin}: '{key}' is not a bitactors.* or akka.* key");
        if (!config.HasPath(key) && !ProfileKeyKnown(config, key)) throw new InvalidDataException($"{origin}: unknown configuration key '{key}' (hocon/bitactors.conf lists them all)");
        // Numbers, booleans, durations, lists and objects as HOCON; anything else as a quoted string (cuda:0, paths).
        bool raw = value.StartsWith('[') || value.StartsWith('{') || value is "true" or "false" or "on" or "off"
            || System.Text.RegularExpressions.Regex.IsMatch(value, @"^-?[0-9.]+(e-?[0-9]+)?\s*[a-z]*$");
        var text = $"{key} = {(raw ? value : System.Text.Json.JsonSerializer.Serialize(value))}";
        try
        {
            return ConfigurationFactory.ParseString(text).WithFallback(config);
        }
        catch (Exception e) when (e is not InvalidDataException)
        {
            throw new InvalidDataException($"{origin}: '{value}' is not a valid value for {key} ({e.Message})");
        }
    }

    /// <summary>
    /// Refuses a <c>bitactors.*</c> key of <paramref name="file"/> that <paramref name="reference"/> lacks, as
    /// <see cref="Override"/> does for one key: a typo would otherwise be ignored. Free: <c>akka.*</c> and other
    /// libraries' sections, <c>bitactors.kafka.client</c> (librdkafka's properties); a <c>finetune</c> section under
    /// <c>bitactors.demo</c> overrides <c>bitactors.finetune</c>, so it takes any of its keys.
    /// </summary>
    private static void RefuseUnknownKeys(Config file, Config reference, string origin)
    {
        bool Known(string key) => reference.HasPath(key) || ProfileKeyKnown(reference, key);
        void Walk(string key, HoconValue value)
        {
            if (key == "bitactors.kafka.client") return;
            if (!Known(key)) throw new InvalidDataException($"{origin}: unknown configuration key '{key}' (hocon/bitactors.conf lists them all)");
            if (value.IsObject())
                foreach (var (name, child) in value.GetObject().Items) Walk($"{key}.{name}", child);
        }
        if (file.HasPath("bitactors")) Walk("bitactors", file.GetValue("bitactors"));
    }

    /// <summary>
    /// The client properties every Kafka client of a command gets: <c>bitactors.kafka.client</c> of
    /// <paramref name="config"/> under the <c>BITACTORS_KAFKA_*</c> environment variables.
    /// </summary>
    public static KafkaClientSettings KafkaClient(Config config) =>
        KafkaClientSettings.From(KafkaClientProperties(config), Environment.GetEnvironmentVariables());

    /// <summary>
    /// <c>bitactors.kafka.client</c> as librdkafka properties: nested keys joined with dots, so
    /// <c>client { sasl.mechanism = PLAIN }</c> and <c>client { "sasl.mechanism" = PLAIN }</c> say the same.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> KafkaClientProperties(Config config)
    {
        var properties = new List<KeyValuePair<string, string>>();
        if (!config.HasPath("bitactors.kafka.client")) return properties;
        void Walk(string prefix, HoconValue value)
        {
            if (value.IsObject())
                foreach (var (key, child) in value.GetObject().Items) Walk(prefix.Length == 0 ? key : $"{prefix}.{key}", child);
            else properties.Add(new(prefix, value.GetString()));
        }
        Walk("", config.GetValue("bitactors.kafka.client"));
        return properties;
    }

    /// <summary><c>bitactors.publish</c>, checked: what <c>publish</c> takes when its options do not say.</summary>
    public static PublishOptions Publish(Config config)
    {
        var c = config.GetConfig("bitactors.publish");
        int partitions = c.GetInt("partitions"), parallelism = c.GetInt("parallelism"), inFlight = c.GetInt("in-flight-megabytes");
        if (partitions < 1) throw new InvalidDataException($"bitactors.publish.partitions must be at least 1, not {partitions}");
        if (parallelism < 0) throw new InvalidDataException($"bitactors.publish.parallelism must be 0 (one per core) or more, not {parallelism}");
        if (inFlight < 1) throw new InvalidDataException($"bitactors.publish.in-flight-megabytes must be at least 1, not {inFlight}");
        return new PublishOptions(DefaultPartitions: partitions, Parallelism: parallelism, InFlightMegabytes: inFlight);
    }

    /// <summary><c>bitactors.upstream</c>, checked: every key of the section, in its group.</summary>
    public static UpstreamSettings Upstream(Config config)
    {
        var c = config.GetConfig("bitactors.upstream");
        return new UpstreamSettings
        {
            Data = new UpstreamDataSettings
            {
                Dataset = c.GetString("dataset"),
                Classes = Classes(c, "bitactors.upstream.classes"),
                Augment = Augmentation(c, c.GetInt("channels")) ?? throw new InvalidDataException("bitactors.upstream: precrop and crop must be set"),
                ShuffleBuffer = Positive(c, "shuffle-buffer"),
                DecodeParallelism = Positive(c, "decode-parallelism"),
                OrderedData = c.GetBoolean("ordered-data"),
                ConsumerGroup = c.GetString("consumer-group", "").Trim(),
                DatasetWaitSeconds = c.GetTimeSpan("dataset-wait").TotalSeconds,
                ConfusionMaxClasses = NonNegative(c, "confusion-max-classes"),
                ValidationFraction = ValidationFraction(config),
                Fraction = Share(c.GetDouble("data-fraction"), "bitactors.upstream.data-fraction", 0, inclusiveLow: false),
            },
            Model = new ModelChoice(c.GetString("arch"), Norm(c), c.GetBoolean("weight-standardization")),
            Schedule = new UpstreamSchedule
            {
                BatchSize = Positive(c, "batch-size"),
                Steps = NonNegative(c, "steps"),
                WarmupSteps = Positive(c, "warmup-steps"),
                BaseLrPer256 = c.GetDouble("base-lr-per-256"),
                WarmupFraction = c.GetDouble("warmup-fraction"),
                DecayEpochs = c.GetIntList("decay-epochs").ToArray(),
                TotalEpochs = Positive(c, "total-epochs"),
            },
            Optimizer = new UpstreamOptimizer
            {
                WeightDecay = c.GetDouble("weight-decay"),
                MixUpAlpha = NonNegativeDouble(c, "mixup"),
                MicroBatch = NonNegative(c, "micro-batch"),
                MultiLabelLoss = c.GetString("multi-label-loss") switch
                {
                    "sigmoid" => MultiLabelLoss.Sigmoid,
                    "softmax-split" => MultiLabelLoss.SoftmaxSplit,
                    var other => throw new InvalidDataException($"bitactors.upstream.multi-label-loss must be sigmoid or softmax-split, not '{other}'"),
                },
            },
            Loop = Loop(c),
            Seed = c.GetInt("seed"),
        };
    }

    /// <summary>
    /// <c>bitactors.finetune</c>, checked; <paramref name="overrides"/> (e.g. <c>bitactors.demo.finetune</c>) over it, and
    /// <paramref name="channels"/> the input channels of a configured resolution.
    /// </summary>
    public static FineTuneSettings FineTune(Config config, Config? overrides = null, int channels = 1)
    {
        var c = overrides is null ? config.GetConfig("bitactors.finetune") : overrides.WithFallback(config.GetConfig("bitactors.finetune"));
        return new FineTuneSettings
        {
            Recipe = new FineTuneRecipe
            {
                BatchSize = Positive(c, "batch-size"),
                BaseLr = c.GetDouble("base-lr"),
                ScratchBaseLr = NonNegativeDouble(c, "scratch-base-lr"),
                MicroBatch = NonNegative(c, "micro-batch"),
                MaxSteps = NonNegative(c, "max-steps"),
            },
            Data = new FineTuneDataSettings
            {
                Augment = Augmentation(c, channels),
                PaperResolution = c.GetBoolean("paper-resolution"),
                ShuffleBuffer = Positive(c, "shuffle-buffer"),
                DecodeParallelism = Positive(c, "decode-parallelism"),
                EvalBatchSize = Positive(c, "eval-batch-size"),
                ConfusionMaxClasses = NonNegative(c, "confusion-max-classes"),
                ValidationFraction = ValidationFraction(config),
            },
            Loop = Loop(c),
            MaxConcurrentTasks = Positive(c, "max-concurrent-tasks"),
            MaxClassesInEvent = NonNegative(config, "bitactors.events.max-classes-in-event"),
        };
    }

    /// <summary><c>bitactors.validation-fraction</c>: the share of every training split held out for validation, in [0, 0.5].</summary>
    public static double ValidationFraction(Config config) =>
        config.HasPath("bitactors.validation-fraction") ? Share(config.GetDouble("bitactors.validation-fraction"), "bitactors.validation-fraction", 0, inclusiveLow: true, high: 0.5) : 0;

    private static double Share(double value, string key, double low, bool inclusiveLow, double high = 1) =>
        (inclusiveLow ? value >= low : value > low) && value <= high ? value
        : throw new InvalidDataException($"{key} must be in {(inclusiveLow ? "[" : "(")}{low}, {high}], not {value}");

    /// <summary>The loop keys, the same in <c>bitactors.upstream</c> and <c>bitactors.finetune</c>.</summary>
    private static LoopSettings Loop(Config c) => new()
    {
        ProgressEvery = Positive(c, "progress-every"),
        CheckpointEvery = NonNegative(c, "checkpoint-every"),
        CheckpointAtPhaseChange = c.GetBoolean("checkpoint-at-phase-change"),
        MaxRestarts = NonNegative(c, "max-restarts"),
        RestartBackoffSeconds = c.GetTimeSpan("restart-backoff").TotalSeconds,
        KeepCheckpoints = Positive(c, "keep-checkpoints"),
    };

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

    /// <summary>A list of class ids; one listed twice (or negative) is refused naming the key, not met later as a crash.</summary>
    private static ClassSubset Classes(Config c, string key)
    {
        var ids = c.GetIntList(key[(key.LastIndexOf('.') + 1)..]);
        if (ids.FirstOrDefault(id => id < 0, 0) is < 0 and var negative) throw new InvalidDataException($"{key}: class {negative} is not a class id");
        if (ids.GroupBy(id => id).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new InvalidDataException($"{key} lists class {twice.Key} {twice.Count()} times: [{string.Join(", ", ids)}]; list each class once");
        return new ClassSubset(ids.ToArray());
    }

    /// <summary>
    /// <c>bitactors.supervision.max-restarts</c>: how many times in all a top-level actor (a run's supervisor and reporter,
    /// a node's device slot) that throws is restarted before it is stopped and its failure reported.
    /// </summary>
    public static int MaxRestarts(Config config)
    {
        var value = config.GetInt("bitactors.supervision.max-restarts", 2);
        return value >= 0 ? value : throw new InvalidDataException($"configuration 'bitactors.supervision.max-restarts' must not be negative, not {value}");
    }

    private static int Positive(Config c, string key)
    {
        var value = c.GetInt(key);
        return value > 0 ? value : throw new InvalidDataException($"configuration '{key}' must be positive, not {value}");
    }
}
