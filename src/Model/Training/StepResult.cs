namespace BitActors.Model.Training;

/// <summary>Outcome of one optimisation step on one batch.</summary>
public sealed record StepResult(int Step, double LearningRate, double Loss, double Accuracy, int Examples);

/// <summary>Top-1 / top-5 accuracy and mean loss over a labelled evaluation set.</summary>
public sealed record EvaluationResult(double Top1, double Top5, double Loss, int Examples);
