using Akka.Configuration;
using BitActors.Actors.Cluster;
using BitActors.Actors.Hosting;
using BitActors.Streams.Kafka;

namespace BitActors.Actors.Tests.Cluster;

public sealed class ClusterJobsTests : IDisposable
{
    private readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("bitactors-jobs");

    public void Dispose() => dir.Delete(recursive: true);

    private static ClusterJob? Job(string hocon) =>
        ClusterJobs.From(ConfigurationFactory.ParseString(hocon).WithFallback(ConfigurationFactory.ParseString(
            "bitactors.upstream { dataset = fashion-mnist, classes = [0, 1, 2, 3, 4] }")).WithFallback(BitActorsConfig.Reference()), new KafkaEndpoint("127.0.0.1:1"));

    /// <summary>A real (tiny) backbone: a job reads what it is from the file.</summary>
    private string Backbone(int seed)
    {
        var path = Path.Combine(dir.FullName, "b.bin");
        TorchSharp.torch.manual_seed(seed);
        using var model = new BitActors.Model.Architecture.ResNetV2(BitActors.Model.Architecture.KnownModels.Get("Tiny", 1), 5);
        BitActors.Model.Checkpoints.CheckpointFiles.Save(model, path);
        return path;
    }

    [Fact]
    public void AGivenBackboneIsFannedOutToShotsTimesSeedsUnderARunIdTheSameJobKeeps()
    {
        var backbone = Backbone(1);
        var text = $"bitactors.cluster.job {{ backbone = \"{backbone}\", dataset = d, classes = [5, 6], shots = [1, 0], seeds = [0, 1] }}";
        var job = Job(text)!;
        Assert.Equal(["transfer-1shot-seed0", "transfer-1shot-seed1", "transfer-all-seed0", "transfer-all-seed1"], job.Tasks.Select(t => t.Name));
        Assert.Null(job.Upstream);
        Assert.StartsWith("cluster-", job.RunId);
        Assert.Equal(job.RunId, Job(text)!.RunId);
        Backbone(2); // another backbone: another run
        Assert.NotEqual(job.RunId, Job(text)!.RunId);
        Assert.Equal("r1", Job(text + " bitactors.cluster.job.run-id = r1")!.RunId);
    }

    [Fact]
    public void AllAndZeroAreTheSameShotCountOfAJob()
    {
        var backbone = Backbone(1);
        var zero = Job($"bitactors.cluster.job {{ backbone = \"{backbone}\", dataset = d, classes = [5], shots = [0, 5], seeds = [1], scratch = true }}")!;
        var all = Job($"bitactors.cluster.job {{ backbone = \"{backbone}\", dataset = d, classes = [5], shots = [all, 5], seeds = [1], scratch = true }}")!;
        Assert.Equal(["transfer-all", "scratch-all", "transfer-5shot", "scratch-5shot"], zero.Tasks.Select(t => t.Name));
        Assert.Equal(zero.Tasks.Select(t => t.Name), all.Tasks.Select(t => t.Name));
        Assert.Equal(zero.RunId, all.RunId);
        Assert.Contains("bitactors.cluster.job.shots: 'x'",
            Assert.Throws<InvalidDataException>(() => Job($"bitactors.cluster.job {{ backbone = \"{backbone}\", dataset = d, classes = [5], shots = [x] }}")).Message);
    }

    [Fact]
    public void AnUpstreamJobRunsTheUpstreamFirstAsOneMoreTask()
    {
        var job = Job("bitactors.cluster.job { upstream = true, dataset = d, classes = [5, 6], shots = [2], seeds = [0] }")!;
        Assert.Null(job.Backbone);
        Assert.NotNull(job.Upstream);
        Assert.Equal(2, job.TaskCount);
        Assert.Equal(ClusterTask.UpstreamId, job.UpstreamTask.Id);
        Assert.Equal([0, 1, 2, 3, 4], job.UpstreamTask.Classes); // bitactors.upstream.classes
    }

    [Fact]
    public void FailedAttemptsAreLimitedByTrainerMaxAttemptsAtLeastOne()
    {
        const string upstream = "bitactors.cluster.job { upstream = true, dataset = d, classes = [5], shots = [2], seeds = [0] }";
        Assert.Equal(3, Job(upstream)!.MaxAttempts);
        Assert.Equal(1, Job(upstream + " bitactors.cluster.trainer.max-attempts = 1")!.MaxAttempts);
        var e = Assert.Throws<InvalidDataException>(() => Job(upstream + " bitactors.cluster.trainer.max-attempts = 0"));
        Assert.Equal("bitactors.cluster.trainer.max-attempts must be at least 1, not 0", e.Message);
    }

    [Fact]
    public void NodeLossesAreLimitedByMaxNodeLossesAtLeastOne()
    {
        const string upstream = "bitactors.cluster.job { upstream = true, dataset = d, classes = [5], shots = [2], seeds = [0] }";
        Assert.Equal(3, Job(upstream)!.MaxNodeLosses);
        Assert.Equal(1, Job(upstream + " bitactors.cluster.max-node-losses = 1")!.MaxNodeLosses);
        var e = Assert.Throws<InvalidDataException>(() => Job(upstream + " bitactors.cluster.max-node-losses = 0"));
        Assert.Equal("bitactors.cluster.max-node-losses must be at least 1, not 0", e.Message);
    }

    [Fact]
    public void NoJobOrAnAmbiguousOneIsSaidSo()
    {
        Assert.Null(Job(""));
        var e = Assert.Throws<InvalidDataException>(() => Job("bitactors.cluster.job { upstream = true, backbone = x.bin, dataset = d, classes = [1] }"));
        Assert.Contains("not both", e.Message);
        Assert.Contains("checkpoint not found: /nowhere.bin",
            Assert.Throws<FileNotFoundException>(() => Job("bitactors.cluster.job { backbone = \"/nowhere.bin\", dataset = d, classes = [1] }")).Message);
        Assert.Contains("dataset is empty", Assert.Throws<InvalidDataException>(() => Job("bitactors.cluster.job { upstream = true, classes = [1] }")).Message);
    }
}
