using System.Text.Json.Nodes;
using BitActors.Cli.Demo;

namespace BitActors.Cli.Tests;

/// <summary>`bitactors report choose`: a setting picked on validation, never on test, and written where it can be traced.</summary>
public sealed class ValidationChoiceTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("choice-").FullName;

    /// <summary>A demo results.json with one setting and, per few-shot row, test and validation medians of both arms.</summary>
    private string Results(string run, double lr, double[] transferValidation, double[] transferTest, double[]? scratchValidation = null)
    {
        var shots = new[] { 1, 5, 10 };
        object Arm(double validation, double test) => new { median_top1 = test, median_validation_top1 = validation };
        var table = shots.Select((k, i) => new
        {
            shots = (int?)k,
            transfer = Arm(transferValidation[i], transferTest[i]),
            scratch = scratchValidation is null ? null : Arm(scratchValidation[i], 0.5),
        }).Append(new { shots = (int?)null, transfer = Arm(0.99, 0.99), scratch = (object?)null }); // the all-examples row is not scored
        var path = Path.Combine(dir, $"{run}.json");
        File.WriteAllText(path, System.Text.Json.JsonSerializer.Serialize(new { run, finetune = new { base_lr = lr }, table }));
        return path;
    }

    [Fact]
    public void TheRunWithTheBestMeanValidationIsPickedWhateverTheTestScoresSay()
    {
        // lr 0.01 has the best test scores, 0.003 the best validation: the pick is 0.003.
        var a = Results("a", 0.001, [0.40, 0.60, 0.70], [0.41, 0.61, 0.71]);
        var b = Results("b", 0.003, [0.45, 0.62, 0.71], [0.40, 0.60, 0.70]);
        var c = Results("c", 0.01, [0.42, 0.60, 0.69], [0.50, 0.70, 0.80]);

        var choice = ValidationChoice.Of("finetune.base_lr", "transfer", [a, b, c]);

        Assert.Equal("0.003", choice.Pick.Value);
        Assert.Equal((0.45 + 0.62 + 0.71) / 3, choice.Pick.Score, 12);
        Assert.Equal([1, 5, 10], choice.Pick.Rows.Select(r => r.Shots));
    }

    [Fact]
    public void TheChoicesFileKeepsOneChoicePerSettingAndArmAndReplacesARepeatedOne()
    {
        var a = Results("a", 0.001, [0.4, 0.6, 0.7], [0, 0, 0], [0.3, 0.5, 0.6]);
        var b = Results("b", 0.003, [0.3, 0.5, 0.6], [0, 0, 0], [0.35, 0.55, 0.65]);
        var file = Path.Combine(dir, "choices.json");

        var c = Results("c", 0.01, [0.2, 0.4, 0.5], [0, 0, 0], [0.2, 0.4, 0.5]);
        ValidationChoice.Of("finetune.base_lr", "transfer", [b, c]).WriteInto(file);
        ValidationChoice.Of("finetune.base_lr", "transfer", [a, b]).WriteInto(file); // replaces the first
        ValidationChoice.Of("finetune.base_lr", "scratch", [a, b]).WriteInto(file);
        var written = JsonNode.Parse(File.ReadAllText(file))!["choices"]!.AsArray();

        Assert.Equal(2, written.Count);
        var transfer = written.Single(c => c!["arm"]!.GetValue<string>() == "transfer")!;
        var scratch = written.Single(c => c!["arm"]!.GetValue<string>() == "scratch")!;
        Assert.Equal(0.001, transfer["pick"]!.GetValue<double>());
        Assert.Equal(0.003, scratch["pick"]!.GetValue<double>());
        Assert.Contains("scratch", scratch["metric"]!.GetValue<string>());
        Assert.Equal(2, scratch["tried"]!.AsArray().Count);
    }

    [Fact]
    public void RunsWithoutValidationScoresOrWithDifferentTasksAreRefusedByName()
    {
        var good = Results("good", 0.001, [0.4, 0.6, 0.7], [0, 0, 0]);
        var bare = Path.Combine(dir, "bare.json");
        File.WriteAllText(bare, """{"run":"bare","finetune":{"base_lr":0.003},"table":[{"shots":1,"transfer":{"median_top1":0.5}}]}""");

        var refused = Assert.Throws<InvalidDataException>(() => ValidationChoice.Of("finetune.base_lr", "transfer", [good, bare]));
        Assert.Contains("bare.json", refused.Message);
        Assert.Contains("no validation top-1", refused.Message);
        var missing = Assert.Throws<InvalidDataException>(() => ValidationChoice.Of("upstream.mixup", "transfer", [good, good]));
        Assert.Contains("no 'upstream.mixup'", missing.Message);
    }

    [Fact]
    public void RunsOfOtherSeedsOrOfTheSameValueAreRefused()
    {
        var a = Results("a", 0.001, [0.4, 0.6, 0.7], [0, 0, 0]);
        var same = Results("same", 0.001, [0.5, 0.6, 0.7], [0, 0, 0]);
        var twice = Assert.Throws<InvalidDataException>(() => ValidationChoice.Of("finetune.base_lr", "transfer", [a, same]));
        Assert.Contains("each run tried must have its own value", twice.Message);

        var node = JsonNode.Parse(File.ReadAllText(Results("seeds", 0.003, [0.5, 0.6, 0.7], [0, 0, 0])))!;
        node["table"]![0]!["transfer"]!["per_seed"] = new JsonArray(new JsonObject { ["seed"] = 7 });
        var other = Path.Combine(dir, "other-seeds.json");
        File.WriteAllText(other, node.ToJsonString());
        var seeds = Assert.Throws<InvalidDataException>(() => ValidationChoice.Of("finetune.base_lr", "transfer", [a, other]));
        Assert.Contains("same shots and seeds", seeds.Message);
    }

    public void Dispose() => Directory.Delete(dir, recursive: true);
}
