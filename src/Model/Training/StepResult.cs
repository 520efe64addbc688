namespace BitActors.Model.Training;

/// <summary>Outcome of one optimisation step on one batch (MixUpLambda = 1 when MixUp is off).</summary>
public sealed record StepResult(int Step, double LearningRate, double Loss, double Accuracy, int Examples, double MixUpLambda = 1.0);

/// <summary>
/// Top-1 / top-5 accuracy and mean loss over a labelled evaluation set, with per-class accuracy and the
/// confusion matrix (rows: true class, columns: predicted class; null above <see cref="EvaluationTally"/>'s class limit).
/// </summary>
public sealed record EvaluationResult(double Top1, double Top5, double Loss, int Examples, double[] PerClassTop1, long[][]? Confusion);
