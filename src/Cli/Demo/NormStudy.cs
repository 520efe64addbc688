using Akka.Configuration;
using BitActors.Actors;
using BitActors.Actors.FineTuning;
using BitActors.Actors.Hosting;
using BitActors.Model.Architecture;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;

namespace BitActors.Cli.Demo;

/// <summary>
/// <c>demo --study norm</c>: the paper's normalisation ablation (Tables 4 and 5) in miniature. The same upstream
/// run is made four times, with GroupNorm or BatchNorm and with or without weight standardisation, at a small
/// per-device batch (each batch runs as micro-batches, so BatchNorm's statistics come from a few images); each
/// backbone is then transferred to the same downstream task with the same HyperRule. Each variant is run once per
/// seed of <c>bitactors.demo.study-norm.seeds</c> (the upstream seed and the task's seed), seed-major: every variant
/// of the first seed, then of the next, so a study stopped early holds complete seeds.
/// </summary>
public static class NormStudy
{
    public sealed record Variant(NormKind Norm, bool WeightStandardization)
    {
        public string Label => ResNetV2Config.LabelOf(Norm, WeightStandardization);
    }

    /// <summary>BiT's choice first, then the paper's other three cells.</summary>
    public static readonly IReadOnlyList<Variant> Variants =
    [
        new(NormKind.GroupNorm, true), new(NormKind.GroupNorm, false), new(NormKind.BatchNorm, true), new(NormKind.BatchNorm, false),
    ];

    /// <summary>
    /// One run per seed and variant, seed-major: upstream with that normalisation and <c>UpstreamSettings.Seed</c> = the
    /// seed, then the study's downstream tasks drawn with the same seed.
    /// </summary>
    public static IReadOnlyList<(Variant Variant, int Seed, RunSpec Spec)> Specs(Config config, string studyId, KafkaEndpoint kafka, string outputRoot,
        string device, int? steps)
    {
        var study = config.GetConfig("bitactors.demo.study-norm")
            ?? throw new InvalidDataException("bitactors.demo.study-norm is missing from the configuration");
        int microBatch = study.GetInt("micro-batch");
        if (microBatch < 0) throw new InvalidDataException($"bitactors.demo.study-norm.micro-batch must not be negative, not {microBatch}");
        var configured = BitActorsConfig.Upstream(config);
        var upstream = configured with
        {
            Optimizer = configured.Optimizer with { MicroBatch = microBatch },
            Schedule = configured.Schedule with { Steps = steps ?? study.GetInt("steps") },
        };
        if (upstream.Schedule.Steps <= 0) throw new InvalidDataException($"bitactors.demo.study-norm.steps must be positive, not {upstream.Schedule.Steps}");
        var studyFineTune = BitActorsConfig.FineTune(config, study.GetConfig("finetune"),
            upstream.Data.Augment.Channels);
        var fineTune = studyFineTune with { Recipe = studyFineTune.Recipe with { MicroBatch = microBatch } };
        var classes = new ClassSubset(config.GetIntList("bitactors.demo.downstream-classes").ToArray());
        var shots = TaskPlan.ParseShots(study.GetStringList("shots"));
        var seeds = TaskPlan.ParseSeeds(study.GetStringList("seeds"), "bitactors.demo.study-norm.seeds");
        return seeds.SelectMany(seed => Variants.Select(v =>
        {
            var runId = $"{studyId}-s{seed}-{v.Label.Replace("+", "", StringComparison.Ordinal).ToLowerInvariant()}";
            var tasks = new TaskPlan("fashion-mnist", classes, shots, [seed]) { SeedInEveryName = true }.Tasks();
            var spec = new RunSpec(runId, kafka, Path.Combine(outputRoot, runId),
                upstream with { Seed = seed, Model = upstream.Model with { Norm = v.Norm, WeightStandardization = v.WeightStandardization } },
                fineTune, tasks, Device: device);
            return (v, seed, spec);
        })).ToList();
    }
}
