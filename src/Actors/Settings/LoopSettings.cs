namespace BitActors.Actors;

/// <summary>
/// How a training loop runs, upstream or fine-tune (<c>bitactors.upstream</c> / <c>bitactors.finetune</c>): progress
/// every <c>ProgressEvery</c> steps; a resumable checkpoint every <c>CheckpointEvery</c> steps (0 = none) and at each
/// change of the schedule's phase; a failed trainer restarted from the last checkpoint after a doubling backoff
/// starting at <c>RestartBackoffSeconds</c>, at most <c>MaxRestarts</c> times; only the newest <c>KeepCheckpoints</c>
/// resumable checkpoints are kept (older ones are superseded and deleted).
/// </summary>
public sealed record LoopSettings
{
    public int ProgressEvery { get; init; } = 50;
    public int CheckpointEvery { get; init; }
    public bool CheckpointAtPhaseChange { get; init; } = true;
    public int MaxRestarts { get; init; } = 3;
    public double RestartBackoffSeconds { get; init; } = 1.0;
    public int KeepCheckpoints { get; init; } = 2;
}
