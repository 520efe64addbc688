using BitActors.Model.Checkpoints;
using System.Security.Cryptography;
using System.Text;

namespace BitActors.Actors.Events;

/// <summary>A trained-model event: its CloudEvents type, subject and JSON data.</summary>
public sealed record ModelEvent(string Type, string Subject, object Data)
{
    /// <summary>
    /// The CloudEvent id: derived from the type and the subject (<c>run/task</c>) only, so a task retried any
    /// number of times, or its event published twice, carries one id and consumers can drop duplicates.
    /// </summary>
    public string Id => StableId(Type, Subject);

    /// <summary>The first 16 bytes of SHA-256(<c>type + "\n" + subject</c>), written as a UUID.</summary>
    public static string StableId(string type, string subject) =>
        new Guid(SHA256.HashData(Encoding.UTF8.GetBytes($"{type}\n{subject}")).AsSpan(0, 16)).ToString();

    public const string BackboneReadyType = "bit.backbone.ready";
    public const string FineTuneCompletedType = "bit.finetune.completed";
    public const string FineTuneFailedType = "bit.finetune.failed";

    public static ModelEvent BackboneReady(BackboneReady b) => new(BackboneReadyType, $"{b.RunId}/upstream", new
    {
        run = b.RunId,
        task = "upstream",
        architecture = b.Arch,
        norm = BitActors.Model.Architecture.ResNetV2Config.LabelOf(b.Norm, b.WeightStandardization),
        steps = b.Steps,
        source = b.Steps == 0 ? "given" : "upstream",
        metrics = b.Steps == 0 ? null : new { top1 = b.UpstreamTest.Top1, top5 = b.UpstreamTest.Top5, loss = b.UpstreamTest.Loss, test_examples = b.UpstreamTest.Examples, train_loss = b.FinalLoss, train_top1 = b.FinalAccuracy,
            validation = Validation(b.Validation) },
        class_names = b.Checkpoint.Metadata?.ClassNames,
        checkpoint = Checkpoint(b.Checkpoint),
        given = b.Given is null ? null : Checkpoint(b.Given),
        elapsed_seconds = b.Elapsed.TotalSeconds,
    });

    /// <summary>
    /// A completed task: per-class top-1 and the confusion matrix inline up to <paramref name="maxClassesInEvent"/> classes;
    /// above, null, and <c>metrics.evaluation</c> names the <see cref="EvaluationFile"/> written beside the checkpoint.
    /// </summary>
    public static ModelEvent FineTuneCompleted(FineTuneCompleted c, int maxClassesInEvent = EvaluationFile.DefaultMaxClassesInEvent)
    {
        var inline = c.Test.PerClassTop1.Length <= maxClassesInEvent;
        return FineTuneCompleted(c, inline, inline ? null : EvaluationFile.Write(c));
    }

    private static ModelEvent FineTuneCompleted(FineTuneCompleted c, bool inline, object? evaluation) => new(FineTuneCompletedType, $"{c.RunId}/{c.Task.Name}", new
    {
        run = c.RunId,
        task = c.Task.Name,
        dataset = c.Task.Dataset,
        classes = c.Task.Classes.Classes,
        class_names = c.Checkpoint.Metadata?.ClassNames,
        architecture = c.Arch,
        init = c.Task.FromScratch ? "scratch" : "backbone",
        shots = c.Task.Shots,
        examples = c.Examples,
        steps = c.Steps,
        metrics = new { top1 = c.Test.Top1, top5 = c.Test.Top5, loss = c.Test.Loss, test_examples = c.Test.Examples, 
            per_class_top1 = inline ? c.Test.PerClassTop1 : null, confusion = inline ? c.Test.Confusion : null, evaluation, validation = Validation(c.Validation) },
        checkpoint = Checkpoint(c.Checkpoint),
        hyperparameters = c.HyperParameters,
        elapsed_seconds = c.Elapsed.TotalSeconds,
    });

    public static ModelEvent FineTuneFailed(FineTuneFailed f, string arch) => new(FineTuneFailedType, $"{f.RunId}/{f.Task.Name}", new
    {
        run = f.RunId,
        task = f.Task.Name,
        dataset = f.Task.Dataset,
        architecture = arch,
        shots = f.Task.Shots,
        reason = f.Reason,
    });

    /// <summary>The results on the validation hold-out of the training split (null: none held out): what settings are chosen on.</summary>
    private static object? Validation(BitActors.Model.Training.EvaluationResult? v) =>
        v is null ? null : new { top1 = v.Top1, top5 = v.Top5, loss = v.Loss, examples = v.Examples };

    /// <summary>The file: where, its hash, size and format, and for the project's own files the model it holds.</summary>
    private static object Checkpoint(CheckpointFiles.Saved s) =>
        new
        {
            uri = new Uri(s.Path).AbsoluteUri, sha256 = s.Sha256, bytes = s.Bytes, format = s.Format,
            layout = s.Format switch { "safetensors" => "timm", "npz" => "bit", _ => "bitactors" },
            // The class names are the event's own field: not twice.
            metadata = s.Metadata?.ToStrings().Where(kv => kv.Key != CheckpointMetadata.Prefix + "class_names").ToDictionary(),
        };
}

/// <summary>Reply once every event told before it has been acknowledged by the broker.</summary>
public sealed record FlushEvents;

/// <summary>Asks a <see cref="ModelEventsPublisher"/> how many events it holds undelivered: <see cref="PendingEvents"/>.</summary>
public sealed record CountPendingEvents;

public sealed record PendingEvents(int Count);

public sealed record ModelEventPublished(string Id, long Offset);
