using Akka.Configuration;
using Akka.Streams;
using Akka.TestKit.Xunit2;
using BitActors.Actors.FineTuning;
using BitActors.Actors.Hosting;
using BitActors.Actors.Tests.Fakes;
using BitActors.Streams.Images;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Tests;

/// <summary>
/// The VTAB-1k protocol as an option: a task draws 1,000 training examples with its seed whatever their classes, trains on
/// 800 of them, validates on the other 200 and reports the test split; planned as <c>transfer-vtab1k</c> groups, named by a
/// suite's <c>protocol</c> key.
/// </summary>
public sealed class Vtab1kTests() : TestKit(BitActorsConfig.Reference())
{
    private static FineTuneTask Task(int seed) => new("transfer-vtab1k", "memory", ClassSubset.Range(0, 10), null, seed, false) { Vtab1k = true };

    [Fact]
    public async Task AVtab1kTaskDrawsAThousandExamplesWithItsSeedAndHoldsTwoHundredOutToValidateOn()
    {
        var data = new InMemoryFineTuneData(perClass: 150);
        var manifest = await data.ReadManifestAsync(Task(0));

        var examples = await FineTuneFeed.PrepareAsync(data, manifest, Task(0), Sys.Materializer());
        var again = await FineTuneFeed.PrepareAsync(data, manifest, Task(0), Sys.Materializer());
        var other = await FineTuneFeed.PrepareAsync(data, manifest, Task(1), Sys.Materializer());

        Assert.Equal((800, 800, 200), (examples.Count, examples.Shots!.Count, examples.Validation!.Count));
        var train = examples.Shots.Select(r => r.Index).ToHashSet();
        Assert.Equal(1000, train.Union(examples.Validation.Select(r => r.Index)).Count()); // disjoint, each once
        Assert.Equal(10, examples.Shots.Select(r => r.Labels[0]).Distinct().Count());     // drawn across the classes, not per class
        Assert.Equal(train, again.Shots!.Select(r => r.Index).ToHashSet());
        Assert.NotEqual(train, other.Shots!.Select(r => r.Index).ToHashSet());
    }

    [Fact]
    public async Task ADatasetWithFewerThanAThousandTrainingExamplesIsRefusedForVtab1kNamingTheTask()
    {
        var data = new InMemoryFineTuneData(perClass: 50);
        var manifest = await data.ReadManifestAsync(Task(0));
        var refused = await Assert.ThrowsAsync<InvalidDataException>(() => FineTuneFeed.PrepareAsync(data, manifest, Task(0), Sys.Materializer()));
        Assert.Equal("task transfer-vtab1k on dataset 'memory': VTAB-1k draws 1000 training examples (there are 500 examples, fewer than 1000)", refused.Message);
    }

    [Fact]
    public void AVtab1kTaskTrainsOnTheEightHundredAndReportsItsValidationOnTheTwoHundred()
    {
        var data = new InMemoryFineTuneData(perClass: 120);
        var folder = Directory.CreateTempSubdirectory("bitactors-vtab");
        var attempt = new FineTuneAttempt("vtab-run", new KafkaEndpoint("unused:9092"),
            new FineTuneSettings
            {
                Recipe = new() { BatchSize = 8, BaseLr = 0.003, MaxSteps = 3 },
                Data = new() { Augment = new AugmentSettings(16, 16, 1), ShuffleBuffer = 16, DecodeParallelism = 1, EvalBatchSize = 64 },
            },
            "cpu", Task(2), new GivenBackbone(Path.Combine(folder.FullName, "backbone.bin"), "Tiny", 1),
            next => Path.Combine(folder.FullName, $"step{next}.bin"), Path.Combine(folder.FullName, "model.bin"));
        try
        {
            ChildActorOf(FineTuneWorker.Props(attempt, CreateTestProbe().Ref, FakeTrainer.Factory(new TrainerLog()), data));

            var completed = ExpectMsg<FineTuneCompleted>(TimeSpan.FromSeconds(60));

            Assert.Equal((800, 3), (completed.Examples, completed.Steps));
            Assert.Equal(200, completed.Validation!.Examples);
            Assert.Equal(InMemoryFineTuneData.Evaluation, completed.Test);
            Assert.Equal("vtab-1k", completed.HyperParameters["protocol"]);
        }
        finally { folder.Delete(recursive: true); }
    }

    [Fact]
    public void ASuiteDatasetNamesItsProtocolAndVtab1kPlansOneGroupPerArm()
    {
        var suite = TransferSuite.From(ConfigurationFactory.ParseString(
            "suite.datasets = [ { name = pets, protocol = vtab-1k, seeds = [0, 1] }, { name = cars, shots = [5] } ]"), "suite", [null], [0]);
        Assert.Equal([true, false], suite.Datasets.Select(d => d.Vtab1k));
        var plan = new TaskPlan("pets", ClassSubset.Range(0, 3), [5], [0, 1]) { Vtab1k = true, Scratch = true, NamePrefix = "pets" };
        Assert.Equal(["pets-transfer-vtab1k-seed0", "pets-transfer-vtab1k-seed1", "pets-scratch-vtab1k-seed0", "pets-scratch-vtab1k-seed1"],
            plan.Tasks().Select(t => t.Name));
        Assert.All(plan.Tasks(), t => Assert.True(t.Vtab1k && t.Shots is null));

        InvalidDataException Refused(string text) => Assert.Throws<InvalidDataException>(() =>
            TransferSuite.From(ConfigurationFactory.ParseString(text), "suite", [null], [0]));
        Assert.Contains("suite.datasets[0].protocol: 'vtab' is not a protocol (one of: shots, vtab-1k)",
            Refused("suite.datasets = [ { name = pets, protocol = vtab } ]").Message);
        Assert.Contains("suite.datasets[0].shots: a VTAB-1k dataset draws 1,000 examples per task",
            Refused("suite.datasets = [ { name = pets, protocol = vtab-1k, shots = [1] } ]").Message);
    }
}
