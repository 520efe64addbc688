using BitActors.Model.Recipe;

namespace BitActors.Actors.Training;

/// <summary>
/// The upstream run's states, in order: waiting for the dataset, warmup, the base learning rate, one phase
/// after each ÷10 decay, evaluating, fanning out, done. Stopped and failed end a run early.
/// </summary>
public static class UpstreamPhase
{
    public const string WaitingForDataset = "waiting-for-dataset";
    public const string Warmup = "warmup";
    public const string BaseRate = "base-lr";
    public const string Evaluating = "evaluating";
    public const string FanningOut = "fanning-out";
    public const string Done = "done";
    public const string Stopped = "stopped";
    public const string Failed = "failed";

    /// <summary>The training phase of <paramref name="step"/>: warmup, base-lr, then decay-1, decay-2, … after each boundary.</summary>
    public static string Of(StepSchedule schedule, int step) => schedule.Phase(step) switch
    {
        0 => Warmup,
        1 => BaseRate,
        var k => $"decay-{k - 1}",
    };
}

/// <summary>The supervisor entered <c>Phase</c> at <c>Step</c> (the next step to run); <c>LearningRate</c> is that step's, when training.</summary>
public sealed record PhaseChanged(string RunId, string Phase, int Step, double? LearningRate = null);
