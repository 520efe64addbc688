using System.Text.Json;
using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;
using BitActors.Streams.Tests;

namespace BitActors.Cli.Tests;

/// <summary>
/// <c>run --dataset a,b</c> and <c>run --suite FILE</c>: several downstream datasets in one run, their suite table in the run
/// folder; <c>--classes</c> refused with several datasets; <c>models watch --dataset</c> shows only that dataset's events.
/// </summary>
public sealed class SuiteRunTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    [Theory]
    [InlineData("--dataset", "a,b", "--classes", "1", "--classes is for a single --dataset")]
    [InlineData("--suite", "suite.conf", "--classes", "1", "--classes is for a single --dataset")]
    [InlineData("--dataset", "a", "--suite", "suite.conf", "--dataset and --suite both name the datasets")]
    [InlineData("--suite", "missing.conf", "--shots", "1", "--suite: file not found: missing.conf")]
    public async Task ClassesWithSeveralDatasetsOrTwoSourcesOfDatasetsAreRefusedBeforeAnything(string o1, string v1, string o2, string v2, string expected)
    {
        var dir = Directory.CreateTempSubdirectory("bitactors-suite-cli");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "suite.conf"), "suite.datasets = [ { name = a }, { name = b } ]");
            string Here(string v) => v.EndsWith(".conf", StringComparison.Ordinal) && v != "missing.conf" ? Path.Combine(dir.FullName, v) : v;
            var (code, stdout, stderr) = await CliProcess.RunAsync(Timeout, "run", "--bootstrap-servers", "127.0.0.1:1", o1, Here(v1), o2, Here(v2));
            Assert.True(code != 0, stdout + stderr);
            Assert.Contains(expected, stdout + stderr);
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public async Task Vtab1kWithShotsIsRefusedBeforeAnything()
    {
        var (code, stdout, stderr) = await CliProcess.RunAsync(Timeout, "run", "--bootstrap-servers", "127.0.0.1:1", "--dataset", "a,b", "--vtab-1k", "--shots", "5");
        Assert.True(code != 0, stdout + stderr);
        Assert.Contains("--vtab-1k draws 1,000 examples per task: --shots does not apply", stdout + stderr);
    }

    [Fact]
    public async Task ModelsWatchWithADatasetShowsOnlyThatDatasetsEvents()
    {
        using var kafka = new EmbeddedKafka();
        await kafka.EnsureTopicAsync(new TopicSpec(Topics.Models, 1));
        using (var producer = KafkaClients.CreateProducer(kafka.Endpoint))
            foreach (var (id, type, dataset) in new[] { ("1", "bit.backbone.ready", (string?)null), ("2", "bit.finetune.completed", "pets"),
                         ("3", "bit.finetune.completed", "cars"), ("4", "bit.finetune.failed", "pets"), ("5", "bit.finetune.completed", "pets") })
                await producer.ProduceAsync(Topics.Models, CloudEvents.ToMessage(id, "test", type, $"run/task{id}", DateTimeOffset.UtcNow,
                    new { run = "run", task = $"task{id}", dataset }, new JsonSerializerOptions()));

        var pets = await CliProcess.RunAsync(Timeout, "models", "watch", "--json", "--max", "3", "--dataset", "pets", "--bootstrap-servers", kafka.BootstrapServers);
        Assert.True(pets.ExitCode == 0, pets.Stderr);
        Assert.Equal(["2", "4", "5"], Lines(pets.Stdout).Select(l => l.GetProperty("id").GetString()));

        var cars = await CliProcess.RunAsync(Timeout, "models", "watch", "--json", "--max", "1", "--dataset", "cars", "--type", "bit.finetune.completed",
            "--bootstrap-servers", kafka.BootstrapServers);
        Assert.True(cars.ExitCode == 0, cars.Stderr);
        Assert.Equal(["cars"], Lines(cars.Stdout).Select(l => l.GetProperty("data").GetProperty("dataset").GetString()));
    }

    private static List<JsonElement> Lines(string stdout) =>
        stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    [Fact]
    [Trait("Category", "EndToEnd")]
    public async Task ARunOfTwoDatasetsTrainsTasksOfBothAndWritesTheSuiteTable()
    {
        // Enough training images that the validation hold-out (2 % by a hash of the index) has some of every dataset.
        var ten = TestData.WriteIdx(train: 300, test: 10, size: 16);
        var four = TestData.WriteIdx(train: 200, test: 8, size: 20, classes: 4);
        var work = Directory.CreateTempSubdirectory("bitactors-suite-run");
        try
        {
            using var broker = new CliProcess("kafka", "up");
            var bootstrap = (await broker.WaitForLineAsync("bootstrap=", Timeout))["bootstrap=".Length..];
            foreach (var (name, source) in new[] { ("ten", ten), ("four", four) })
            {
                var published = await CliProcess.RunAsync(Timeout, "publish", "--dataset", name, "--format", "idx", "--source", source.FullName, "--bootstrap-servers", bootstrap);
                Assert.True(published.ExitCode == 0, published.Stderr);
            }
            var backbone = Path.Combine(work.FullName, "backbone.safetensors");
            using (var model = new BitActors.Model.Architecture.ResNetV2(BitActors.Model.Architecture.KnownModels.Get("Tiny", 1), 5))
                BitActors.Model.Checkpoints.CheckpointFiles.Save(model, backbone);
            string[] common = ["run", "--bootstrap-servers", bootstrap, "--backbone", backbone, "--output", work.FullName, "--device", "cpu",
                "--set", "bitactors.finetune.batch-size=4", "--set", "bitactors.finetune.max-steps=2", "--set", "bitactors.finetune.eval-batch-size=16",
                // Small crops keep this fast; the HyperRule's resolution per dataset is checked in SuiteFanOutTests.
                "--set", "bitactors.finetune.precrop=18", "--set", "bitactors.finetune.crop=16"];

            var unknown = await CliProcess.RunAsync(Timeout, [.. common, "--dataset", "ten,nowhere"]);
            Assert.True(unknown.ExitCode == 1, unknown.Stdout + unknown.Stderr);
            Assert.Contains("dataset 'nowhere' is not published", unknown.Stdout + unknown.Stderr);

            var (code, stdout, stderr) = await CliProcess.RunAsync(Timeout, [.. common, "--dataset", "ten,four", "--shots", "2", "--scratch"]);
            Assert.True(code == 0, stdout + stderr);
            Assert.Contains("suite mean", stdout);
            var folder = Directory.GetDirectories(work.FullName, "run-*").Single();
            using var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "suite", "results.json")));
            var rows = results.RootElement.GetProperty("rows").EnumerateArray().ToList();
            Assert.Equal([("ten", 10), ("four", 4)], rows.Select(r => (r.GetProperty("dataset").GetString()!, r.GetProperty("classes").GetInt32())));
            Assert.Equal(["ten-transfer-2shot", "four-transfer-2shot"], rows.Select(r => r.GetProperty("transfer").GetProperty("runs")[0].GetProperty("task").GetString()));
            Assert.All(rows, r => Assert.Equal(1, r.GetProperty("scratch").GetProperty("runs").GetArrayLength()));
            Assert.All(rows, r => Assert.True(r.GetProperty("transfer").GetProperty("median_validation_top1").ValueKind == JsonValueKind.Number));
            Assert.True(File.Exists(Path.Combine(folder, "suite", "suite.md")));

            var watch = await CliProcess.RunAsync(Timeout, "models", "watch", "--json", "--max", "2", "--dataset", "four", "--type", "bit.finetune.completed", "--bootstrap-servers", bootstrap);
            Assert.True(watch.ExitCode == 0, watch.Stderr);
            Assert.Equal(["four-scratch-2shot", "four-transfer-2shot"],
                Lines(watch.Stdout).Select(l => l.GetProperty("data").GetProperty("task").GetString()).Order());
        }
        finally
        {
            ten.Delete(true);
            four.Delete(true);
            work.Delete(true);
        }
    }
}
