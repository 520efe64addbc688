using System.Globalization;
using Akka.Configuration;
using BitActors.Actors;
using BitActors.Actors.FineTuning;
using BitActors.Actors.Hosting;
using BitActors.Model.Architecture;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;

namespace BitActors.Cli.Demo;

/// <summary>
/// <c>demo --study scale</c>: the paper's central claim in miniature — does a bigger upstream give better few-shot
/// transfer? The demo's model is pre-trained on growing (nested) shares of the upstream classes' training images, and a
/// wider model on the largest share, all for the same number of steps (fixed compute, more data); each backbone is
/// transferred to the same few-shot tasks (shots × seeds). The from-scratch tasks do not depend on the upstream: they
/// run once, in the first run, and every variant's transfer is paired with them by seed.
/// </summary>
public static class ScaleStudy
{
    /// <summary>One upstream: an architecture trained on a share of the upstream classes' training images.</summary>
    public sealed record Variant(string Arch, double Fraction)
    {
        public string DataLabel => Percent(Fraction);

        public string Label => $"{Arch}, {DataLabel} data";

        /// <summary>The run id's suffix: <c>tiny-10pct</c>, <c>small-100pct</c>.</summary>
        public string Slug => $"{Arch.ToLowerInvariant()}-{(Fraction * 100).ToString("0.##", CultureInfo.InvariantCulture).Replace('.', '_')}pct";
    }

    /// <summary>The study's id, its folder, and its runs in order.</summary>
    public sealed record Plan(string StudyId, string Folder, IReadOnlyList<(Variant Variant, RunSpec Spec)> Specs);

    public static string Percent(double fraction) => (fraction * 100).ToString("0.##", CultureInfo.InvariantCulture) + " %";

    /// <summary>
    /// The upstreams of the study: the configured (demo) architecture at each fraction, smallest first, then
    /// <c>wide-arch</c> at the largest fraction ("" = none).
    /// </summary>
    public static IReadOnlyList<Variant> Variants(Config study, string baseArch)
    {
        var fractions = study.GetDoubleList("fractions");
        if (fractions.Count == 0) throw new InvalidDataException("bitactors.demo.study-scale.fractions: at least one share of the upstream images is needed");
        foreach (var f in fractions.Where(f => !(f > 0 && f <= 1)))
            throw new InvalidDataException($"bitactors.demo.study-scale.fractions: each share must be in (0, 1], not {f.ToString(CultureInfo.InvariantCulture)}");
        if (fractions.Distinct().Count() < fractions.Count)
            throw new InvalidDataException($"bitactors.demo.study-scale.fractions: a share is given twice ({string.Join(", ", fractions.Select(f => f.ToString(CultureInfo.InvariantCulture)))})");
        var variants = fractions.Order().Select(f => new Variant(baseArch, f)).ToList();
        var wide = study.GetString("wide-arch", "").Trim();
        if (wide.Length > 0)
        {
            if (!KnownModels.All.TryGetValue(wide, out var known))
                throw new InvalidDataException($"bitactors.demo.study-scale.wide-arch: unknown architecture '{wide}'. Known: {string.Join(", ", KnownModels.All.Keys)}");
            if (known.Name.Equals(baseArch, StringComparison.OrdinalIgnoreCase))
                throw new InvalidDataException($"bitactors.demo.study-scale.wide-arch: '{wide}' is the upstream's own architecture; name a wider one (or \"\" for none)");
            variants.Add(new Variant(known.Name, variants[^1].Fraction));
        }
        if (variants.Count < 2) throw new InvalidDataException("bitactors.demo.study-scale: one upstream compares with nothing; give two fractions or a wide-arch");
        return variants;
    }

    /// <summary>
    /// One run per variant, all with the same upstream steps (<paramref name="steps"/>, else <c>study-scale.steps</c>, else
    /// the demo's upstream steps) and the same few-shot tasks; the first run also trains every task from scratch.
    /// </summary>
    public static IReadOnlyList<(Variant Variant, RunSpec Spec)> Specs(Config config, string studyId, KafkaEndpoint kafka, string outputRoot,
        string device, int? steps)
    {
        var study = config.GetConfig("bitactors.demo.study-scale")
            ?? throw new InvalidDataException("bitactors.demo.study-scale is missing from the configuration");
        var configured = BitActorsConfig.Upstream(config);
        int studySteps = steps ?? (study.GetInt("steps") is var s && s != 0 ? s : configured.Schedule.Steps);
        if (studySteps <= 0) throw new InvalidDataException($"bitactors.demo.study-scale.steps must be positive (or 0: the upstream's steps), not {studySteps}");
        var upstream = configured with { Schedule = configured.Schedule with { Steps = studySteps } };
        var fineTune = BitActorsConfig.FineTune(config, null, upstream.Data.Augment.Channels);
        var classes = new ClassSubset(config.GetIntList("bitactors.demo.downstream-classes").ToArray());
        var shots = TaskPlan.ParseShots(study.GetStringList("shots"), "bitactors.demo.study-scale.shots");
        var seeds = TaskPlan.ParseSeeds(study.GetStringList("seeds"), "bitactors.demo.study-scale.seeds");
        var variants = Variants(study, upstream.Model.Arch);
        return variants.Select((v, i) =>
        {
            var runId = $"{studyId}-{v.Slug}";
            var tasks = new TaskPlan("fashion-mnist", classes, shots, seeds) { Scratch = i == 0, SeedInEveryName = true }.Tasks();
            var spec = new RunSpec(runId, kafka, Path.Combine(outputRoot, runId), upstream with
            {
                Model = upstream.Model with { Arch = v.Arch },
                Data = upstream.Data with { Fraction = v.Fraction },
            }, fineTune, tasks, Device: device);
            return (v, spec);
        }).ToList();
    }
}
