using BitActors.Model.Checkpoints;
using Akka.Actor;
using Akka.Event;
using BitActors.Model.Architecture;
using BitActors.Model.Training;
using TorchSharp;

namespace BitActors.Actors.Training;

/// <summary>
/// Owns one model, its optimizer and its device. Runs on a pinned dispatcher (one thread for its whole
/// life) because TorchSharp's dispose scopes are per thread. It decides nothing: it runs the step, the
/// evaluation or the checkpoint it is asked for and replies. A failing step (exception, NaN loss) fails
/// the actor, and its parent decides what happens next.
/// </summary>
public sealed class GpuTrainer : ReceiveActor
{
    public const string DispatcherId = "bitactors.trainer-dispatcher";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly TrainerSpec _spec;
    private Classifier? _classifier;

    public GpuTrainer(TrainerSpec spec)
    {
        _spec = spec;
        Receive<TrainOn>(m => Sender.Tell(Classifier.Step(m.Step, m.Batch.Pixels, m.Batch.Shape, m.Batch.Labels, m.LearningRate, m.Batch.Targets)));
        Receive<EvaluateOn>(m => Sender.Tell(EvaluationPartial.Of(
            Classifier.EvaluateBatch(m.Batch.Pixels, m.Batch.Shape, m.Batch.Labels), m.Batch.Labels)));
        Receive<SaveCheckpoint>(m => Sender.Tell(m.NextStep is int next
            ? new CheckpointSaved(Classifier.SaveTrainingState(m.Path, next, m.Position, m.Metadata), next)
            : new CheckpointSaved(CheckpointFiles.Save(Classifier.Model, m.Path, metadata: m.Metadata))));
    }

    public static Props Props(TrainerSpec spec) => Akka.Actor.Props.Create(() => new GpuTrainer(spec)).WithDispatcher(DispatcherId);

    private Classifier Classifier => _classifier ?? throw new InvalidOperationException("trainer not started");

    protected override void PreStart()
    {
        // Loads the CUDA backend (the machine's libtorch_cuda) before any tensor is made; auto picks it when it has a GPU.
        var device = Devices.Resolve(_spec.Device, m => _log.Info(m));
        torch.manual_seed(_spec.Seed);
        var model = new ResNetV2(KnownModels.Get(_spec.Model.Arch, _spec.InChannels, _spec.Model.Norm, _spec.Model.WeightStandardization), _spec.Classes, _spec.ZeroHead);
        if (_spec.Backbone is not null) CheckpointFiles.Load(model, _spec.Backbone, HeadPolicy.Replace);
        if (_spec.ZeroHead) model.ZeroHead();
        _classifier = new Classifier(model, new torch.Device(device), _spec.Training);
        if (_spec.MultiLabel && _spec.Training.MultiLabel == MultiLabelLoss.Sigmoid && !_spec.ZeroHead) _classifier.InitializeHeadForSigmoid();
        if (_spec.ResumeFrom is not null)
            _log.Info("resumed from {0} at step {1}", _spec.ResumeFrom, _classifier.LoadTrainingState(_spec.ResumeFrom));
        _log.Info("trainer ready: {0} ({5}), {1} classes, {2:N0} parameters, backbone {3}, device {4}",
            _spec.Model.Arch, _spec.Classes, model.parameters().Sum(p => p.numel()), _spec.Backbone ?? "none (random init)", device, model.Config.NormLabel);
    }

    protected override void PostStop() => _classifier?.Dispose();
}
