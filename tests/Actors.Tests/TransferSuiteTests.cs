using Akka.Configuration;
using BitActors.Actors.FineTuning;
using BitActors.Streams.Datasets;
using BitActors.Streams.Images;

namespace BitActors.Actors.Tests;

/// <summary>
/// A transfer suite (several downstream datasets in one run): read from a suite file or from <c>a,b,c</c>, planned into the
/// tasks of every dataset with names that stay unique, and refused naming the key, the dataset or the split when it is wrong.
/// </summary>
public sealed class TransferSuiteTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("bitactors-suite");

    public void Dispose() => _dir.Delete(true);

    private static readonly IReadOnlyList<int?> DefaultShots = [null];
    private static readonly IReadOnlyList<int> DefaultSeeds = [0];

    private string File(string text)
    {
        var path = Path.Combine(_dir.FullName, $"{Guid.NewGuid():N}.conf");
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    private static DatasetManifest Manifest(string name, int classes, int size, params string[] splits) =>
        new(name, Enumerable.Range(0, classes).Select(c => $"c{c}").ToList(), false, new ImageSize(size, size, 1), "hash",
            (splits.Length == 0 ? ["train", "test"] : splits).Select(s => new SplitManifest(s, $"bit.data.{name}.{s}", 1, 10L * classes, [10L * classes],
                ClassCounts: Enumerable.Repeat(10L, classes).ToList())).ToList(),
            DateTimeOffset.UnixEpoch);

    [Fact]
    public void ASuiteFileGivesEachDatasetItsClassesShotsSeedsAndStepCapAndTheRestTheCommandLines()
    {
        var suite = TransferSuite.ReadFile(File("""
            suite {
              datasets = [
                { name = pets, classes = [2, 0], shots = [1, 5], seeds = [0, 1, 2], max-steps = 40 }
                { name = flowers }
              ]
            }
            """), [10], [7]);

        Assert.Equal(["pets", "flowers"], suite.Datasets.Select(d => d.Name));
        var pets = suite.Datasets[0];
        Assert.Equal([2, 0], pets.Classes!);
        Assert.Equal([1, 5], pets.Shots);
        Assert.Equal([0, 1, 2], pets.Seeds);
        Assert.Equal(40, pets.MaxSteps);
        var flowers = suite.Datasets[1];
        Assert.Null(flowers.Classes);
        Assert.Equal([10], flowers.Shots);
        Assert.Equal([7], flowers.Seeds);
        Assert.Null(flowers.MaxSteps);
    }

    [Theory]
    [InlineData("suite { datasets = [ { name = pets, shot = [1] } ] }", "unknown key 'suite.datasets[0].shot'")]
    [InlineData("suite { datasets = [ { name = pets }, { name = cars, shots = [x] } ] }", "suite.datasets[1].shots: 'x' is neither")]
    [InlineData("suite { datasets = [ { shots = [1] } ] }", "suite.datasets[0].name is missing")]
    [InlineData("suite { datasets = [ { name = pets, max-steps = -3 } ] }", "suite.datasets[0].max-steps: '-3' is not a number of steps")]
    [InlineData("suite { datasets = [ { name = pets, classes = [a] } ] }", "suite.datasets[0].classes: 'a' is not a class id")]
    [InlineData("suite { datasets = [ { name = pets }, { name = pets } ] }", "dataset 'pets' named more than once")]
    [InlineData("suite { dataset = [ { name = pets } ] }", "unknown key 'suite.dataset'")]
    [InlineData("suite { datasets = [] }", "suite.datasets is missing or empty")]
    [InlineData("suite { datasets = [ { name = pets } ], scratch = true }", "unknown key 'suite.scratch'")]
    [InlineData("suite { datasets = pets }", "suite.datasets must be a list")]
    public void ABadSuiteFileIsRefusedNamingTheKey(string text, string expected)
    {
        var path = File(text);
        var error = Assert.Throws<InvalidDataException>(() => TransferSuite.ReadFile(path, DefaultShots, DefaultSeeds));
        Assert.Contains(expected, error.Message);
        Assert.Contains($"--suite {path}", error.Message);
    }

    [Fact]
    public void SeveralDatasetsPlanTasksOfEachPrefixedWithItsDatasetAndCarryingItsStepCap()
    {
        var suite = TransferSuite.From(ConfigurationFactory.ParseString("""
            suite.datasets = [ { name = small, shots = [2], seeds = [0, 1], max-steps = 3 }, { name = large, shots = [all], max-steps = 5 } ]
            """), "suite", DefaultShots, DefaultSeeds);
        var manifests = new Dictionary<string, DatasetManifest> { ["small"] = Manifest("small", 10, 16), ["large"] = Manifest("large", 3, 100) };

        var tasks = suite.Tasks(n => manifests.GetValueOrDefault(n), scratch: true, "--dataset", "kafka");

        Assert.Equal(["small-transfer-2shot-seed0", "small-transfer-2shot-seed1", "small-scratch-2shot-seed0", "small-scratch-2shot-seed1",
            "large-transfer-all", "large-scratch-all"], tasks.Select(t => t.Name));
        Assert.Equal(tasks.Count, tasks.Select(t => t.Name).Distinct().Count());
        Assert.All(tasks.Take(4), t => Assert.Equal(("small", 10, 3), (t.Dataset, t.Classes.Count, t.MaxSteps!.Value)));
        Assert.All(tasks.Skip(4), t => Assert.Equal(("large", 3, 5), (t.Dataset, t.Classes.Count, t.MaxSteps!.Value)));
        Assert.Equal("small-transfer-2shot", tasks[0].GroupName);
    }

    [Fact]
    public void OneDatasetKeepsItsPlainTaskNames()
    {
        var tasks = TransferSuite.OfNames("small", [1], [0]).Tasks(n => Manifest(n, 4, 16), scratch: false, "--dataset", "kafka");
        Assert.Equal(["transfer-1shot"], tasks.Select(t => t.Name));
        Assert.Null(tasks[0].MaxSteps);
    }

    [Fact]
    public void AnUnknownDatasetOrOneWithoutItsTestSplitIsRefusedNamingIt()
    {
        var suite = TransferSuite.OfNames("small, nowhere", DefaultShots, DefaultSeeds);
        var unknown = Assert.Throws<InvalidDataException>(() =>
            suite.Tasks(n => n == "small" ? Manifest("small", 4, 16) : null, false, "--dataset", "127.0.0.1:9092"));
        Assert.Equal("--dataset: dataset 'nowhere' is not published at 127.0.0.1:9092 (see `bitactors publish --dataset nowhere`)", unknown.Message);

        var noTest = Assert.Throws<InvalidDataException>(() =>
            suite.Tasks(n => n == "small" ? Manifest("small", 4, 16) : Manifest(n, 3, 16, "train"), false, "--dataset", "k"));
        Assert.Contains("--dataset nowhere: dataset 'nowhere' has no 'test' split (it has: train)", noTest.Message);

        Assert.Contains("empty dataset name", Assert.Throws<InvalidDataException>(() => TransferSuite.OfNames("a,,b", DefaultShots, DefaultSeeds)).Message);
    }
}
