using System.Text.Json;
using System.Text.Json.Serialization;
using BitActors.Actors.Training;

namespace BitActors.Actors.Telemetry;

/// <summary>One line of a run's <c>metrics.jsonl</c>: a training progress report, or (<c>kind</c> = test) a task's test result.</summary>
public sealed record MetricsLine(
    [property: JsonPropertyName("run")] string Run,
    [property: JsonPropertyName("task")] string Task,
    [property: JsonPropertyName("step")] int Step,
    [property: JsonPropertyName("kind")] string? Kind = null,
    [property: JsonPropertyName("total_steps")] int? TotalSteps = null,
    [property: JsonPropertyName("loss")] double? Loss = null,
    [property: JsonPropertyName("train_top1")] double? TrainTop1 = null,
    [property: JsonPropertyName("lr")] double? Lr = null,
    [property: JsonPropertyName("images_per_second")] double? ImagesPerSecond = null,
    [property: JsonPropertyName("step_seconds")] double? StepSeconds = null,
    [property: JsonPropertyName("data_wait_seconds")] double? DataWaitSeconds = null,
    [property: JsonPropertyName("test_top1")] double? TestTop1 = null,
    [property: JsonPropertyName("test_top5")] double? TestTop5 = null,
    [property: JsonPropertyName("test_loss")] double? TestLoss = null)
{
    [JsonIgnore]
    public bool IsTest => Kind == "test";
}

/// <summary>
/// A run's <c>metrics.jsonl</c>: a line per progress report (step, loss, train top-1, lr, images/s, step and
/// data-wait seconds) and, with <c>"kind": "test"</c>, a line per evaluated model (test top-1, top-5, loss).
/// </summary>
public static class MetricsLog
{
    public const string File = "metrics.jsonl";

    private static readonly JsonSerializerOptions Json = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static MetricsLine Of(TrainingProgress p) => new(p.Run, p.Task, p.Step, null, p.TotalSteps, p.Loss, p.Accuracy, p.LearningRate,
        p.ImagesPerSecond, p.StepSeconds, p.DataWaitSeconds);

    public static MetricsLine Of(FineTuneCompleted c) => new(c.RunId, c.Task.Name, c.Steps, "test", c.Steps, TestTop1: c.Test.Top1, TestTop5: c.Test.Top5, TestLoss: c.Test.Loss);

    public static MetricsLine Of(BackboneReady b) => new(b.RunId, "upstream", b.Steps, "test", b.Steps,
        TestTop1: b.UpstreamTest.Top1, TestTop5: b.UpstreamTest.Top5, TestLoss: b.UpstreamTest.Loss);

    public static string Serialize(MetricsLine line) => JsonSerializer.Serialize(line, Json);

    /// <summary>Every line of <paramref name="path"/>; a line that is not a metrics record is refused naming its number.</summary>
    public static IReadOnlyList<MetricsLine> Read(string path)
    {
        if (!System.IO.File.Exists(path)) return [];
        var lines = new List<MetricsLine>();
        int number = 0;
        foreach (var text in System.IO.File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            try
            {
                lines.Add(JsonSerializer.Deserialize<MetricsLine>(text, Json) ?? throw new JsonException("null"));
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{path}:{number}: not a metrics line ({e.Message})");
            }
        }
        return lines;
    }
}
