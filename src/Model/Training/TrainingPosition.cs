using System.Text.Json;
using BitActors.Model.Recipe;

namespace BitActors.Model.Training;

/// <summary>
/// Where a run stands besides its weights: the schedule it follows, its batch size, and the data position
/// (examples consumed so far, in the order the data source and its shuffle seed define). Kept in a training
/// checkpoint so a resume can refuse a run with another schedule or data, and report where it picks up.
/// <c>Resume</c>: where the data source continues from, in the source's own terms (a consumer group's positions, as
/// JSON); opaque here, null when the data replays from the run's start.
/// </summary>
public sealed record TrainingPosition(StepSchedule Schedule, int BatchSize, long ExamplesSeen, string Data, int Seed, string? Resume = null)
{
    public string ToJson() => JsonSerializer.Serialize(this);

    public static TrainingPosition? FromJson(string json) => string.IsNullOrEmpty(json) ? null : JsonSerializer.Deserialize<TrainingPosition>(json);

    /// <summary>Why this checkpoint cannot continue a run at <paramref name="current"/>; null when it can.</summary>
    public string? Conflict(TrainingPosition current)
    {
        var problems = new List<string>();
        if (BatchSize != current.BatchSize) problems.Add($"batch {BatchSize} vs {current.BatchSize}");
        if (Data != current.Data) problems.Add($"data '{Data}' vs '{current.Data}'");
        if (Seed != current.Seed) problems.Add($"seed {Seed} vs {current.Seed}");
        if (Math.Abs(Schedule.BaseLr - current.Schedule.BaseLr) > 1e-12 || Schedule.WarmupSteps != current.Schedule.WarmupSteps
            || Schedule.TotalSteps != current.Schedule.TotalSteps || !Schedule.DecayBoundaries.SequenceEqual(current.Schedule.DecayBoundaries))
            problems.Add($"schedule {Describe(Schedule)} vs {Describe(current.Schedule)}");
        return problems.Count == 0 ? null : string.Join("; ", problems);
    }

    private static string Describe(StepSchedule s) =>
        $"lr {s.BaseLr} warmup {s.WarmupSteps} decays {string.Join("/", s.DecayBoundaries)} total {s.TotalSteps}";
}
