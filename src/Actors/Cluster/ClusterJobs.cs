using System.Security.Cryptography;
using System.Text;
using Akka.Configuration;
using BitActors.Actors.FineTuning;
using BitActors.Actors.Hosting;
using BitActors.Model.Checkpoints;
using BitActors.Model.Recipe;
using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Cluster;

/// <summary>
/// <c>bitactors.cluster.job</c>: the fan-out a coordinator runs, a given backbone onto shots × seeds tasks of a
/// published dataset (the <see cref="TaskPlan"/> of <c>run --backbone</c>) or of several (<c>dataset = "a,b"</c>, or a
/// <see cref="TransferSuite"/> in <c>job.suite</c>: one queue of every dataset's tasks, any free device takes any), or, with <c>upstream = true</c>, of the backbone the
/// configured upstream pre-training (<c>bitactors.upstream</c>) makes first on a trainer node. Null when neither is configured.
/// </summary>
public static class ClusterJobs
{
    public static ClusterJob? From(Config config, KafkaEndpoint kafka)
    {
        var c = config.GetConfig("bitactors.cluster.job");
        var path = c.GetString("backbone");
        var upstreamFirst = c.GetBoolean("upstream");
        if (string.IsNullOrWhiteSpace(path) && !upstreamFirst) return null;
        if (!string.IsNullOrWhiteSpace(path) && upstreamFirst)
            throw new InvalidDataException("bitactors.cluster.job: give a backbone or upstream = true, not both");
        if (!upstreamFirst && !File.Exists(path)) throw new FileNotFoundException($"bitactors.cluster.job.backbone: checkpoint not found: {path}", path);
        var dataset = c.GetString("dataset");
        var shotList = TaskPlan.ParseShots(c.GetStringList("shots"), "bitactors.cluster.job.shots");
        var seedList = TaskPlan.ParseSeeds(c.GetStringList("seeds"), "bitactors.cluster.job.seeds");
        var vtab1k = c.GetString("protocol") switch
        {
            "" or "shots" => false,
            Vtab1k.Name => true,
            var other => throw new InvalidDataException($"bitactors.cluster.job.protocol: '{other}' is not a protocol (one of: {string.Join(", ", TransferSuite.Protocols)})"),
        };
        var suite = TransferSuite.TryFrom(config, "bitactors.cluster.job.suite", shotList, seedList, vtab1k: vtab1k);
        if (suite is not null && !string.IsNullOrWhiteSpace(dataset))
            throw new InvalidDataException("bitactors.cluster.job: give a dataset or a suite, not both");
        if (suite is null && string.IsNullOrWhiteSpace(dataset))
            throw new InvalidDataException("bitactors.cluster.job.dataset is empty: name the published dataset of the tasks (or list several in bitactors.cluster.job.suite.datasets)");
        var upstream = BitActorsConfig.Upstream(config);
        if (upstreamFirst && string.IsNullOrWhiteSpace(upstream.Data.Dataset))
            throw new InvalidDataException("bitactors.cluster.job.upstream = true needs bitactors.upstream.dataset: the dataset to pre-train on");
        var given = upstreamFirst ? null : GivenBackbone.Of(path, c.GetString("arch") is { Length: > 0 } a ? a : null,
            c.GetInt("channels") is > 0 and var ch ? ch : null, o => $"bitactors.cluster.job.{o}").Backbone;
        var arch = given?.Arch ?? upstream.Model.Arch;
        var channels = given?.InChannels ?? upstream.Data.Augment.Channels;
        var scratch = c.GetBoolean("scratch");
        suite ??= dataset.Contains(',') ? TransferSuite.OfNames(dataset, shotList, seedList, "bitactors.cluster.job.dataset", vtab1k) : null;
        if (suite is not null && c.GetIntList("classes").Count > 0)
            throw new InvalidDataException("bitactors.cluster.job.classes is for a single dataset: with several, give each its classes in bitactors.cluster.job.suite.datasets");
        IReadOnlyList<FineTuneTask> tasks;
        string what;
        if (suite is not null)
        {
            tasks = suite.Tasks(name => DatasetCatalog.TryRead(kafka, name), scratch, "bitactors.cluster.job", kafka.ToString());
            what = $"suite {suite.Describe()}";
        }
        else
        {
            var classes = c.GetIntList("classes") is { Count: > 0 } ids
                ? new ClassSubset(ids.ToArray())
                : ClassSubset.Range(0, (DatasetCatalog.TryRead(kafka, dataset)
                    ?? throw new InvalidDataException($"dataset '{dataset}' is not published at {kafka} (see `bitactors publish`)")).Classes.Count);
            tasks = new TaskPlan(dataset, classes, shotList, seedList) { Scratch = scratch, Vtab1k = vtab1k }.Tasks();
            // The run key spells every example 0, as the key always has.
            what = $"{dataset}|{string.Join(",", classes.Classes)}|{string.Join(",", shotList.Select(k => k ?? 0))}|{string.Join(",", seedList)}{(vtab1k ? "|vtab-1k" : "")}";
        }
        var origin = upstreamFirst
            ? $"upstream {upstream.Data.Dataset} {string.Join(",", upstream.Data.Classes.Classes)} {upstream.Model.Arch} {upstream.Model.Norm} {upstream.Model.WeightStandardization} {upstream.Schedule.Steps}x{upstream.Schedule.BatchSize} seed {upstream.Seed}"
            : CheckpointFiles.Hash(path).Sha256;
        var runId = c.GetString("run-id") is { Length: > 0 } id ? id
            : $"cluster-{RunKey($"{origin}|{DataParts(config, upstreamFirst ? upstream.Data.Fraction : 1)}", arch, channels, what, scratch)}";
        var maxAttempts = config.GetInt("bitactors.cluster.trainer.max-attempts", 3);
        if (maxAttempts < 1) throw new InvalidDataException($"bitactors.cluster.trainer.max-attempts must be at least 1, not {maxAttempts}");
        var maxNodeLosses = config.GetInt("bitactors.cluster.max-node-losses", 3);
        if (maxNodeLosses < 1) throw new InvalidDataException($"bitactors.cluster.max-node-losses must be at least 1, not {maxNodeLosses}");
        return upstreamFirst
            ? new ClusterJob(runId, null, tasks, upstream, maxAttempts, maxNodeLosses)
            : new ClusterJob(runId, given, tasks, MaxAttempts: maxAttempts, MaxNodeLosses: maxNodeLosses);
    }

    /// <summary>
    /// A run id that is the same on every coordinator for the same job, so a coordinator taking over finds the
    /// outcomes the previous one announced; set <c>run-id</c> to run the same job again.
    /// </summary>
    /// <summary>The parts of the training splits a job trains on: a job on other parts is another run (earlier outcomes do not count).</summary>
    private static string DataParts(Config config, double upstreamFraction) =>
        $"validation {Hosting.BitActorsConfig.ValidationFraction(config).ToString(System.Globalization.CultureInfo.InvariantCulture)} " +
        $"upstream share {upstreamFraction.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    private static string RunKey(string origin, string arch, int channels, string tasks, bool scratch)
    {
        var text = $"{origin}|{arch}|{channels}|{tasks}|{scratch}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..10];
    }
}
