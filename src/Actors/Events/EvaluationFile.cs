using System.Text.Json;
using System.Text.Json.Serialization;

namespace BitActors.Actors.Events;

/// <summary>
/// A task's whole test evaluation — per-class top-1 and the confusion matrix where it was kept — as
/// <c>NAME.evaluation.json</c> beside its checkpoint, for a task with more classes than a completed event carries
/// (<c>bitactors.events.max-classes-in-event</c>): the event names the file by URI, sha256 and size. Events stay
/// small whatever K is: over Akka remoting a frame above <c>maximum-frame-size</c> is dropped, and on Kafka a record
/// above <c>message.max.bytes</c> (1,000,000 bytes) is refused; a 1,000-class matrix alone is several MB of JSON.
/// </summary>
public static class EvaluationFile
{
    /// <summary>A 100×100 matrix is about 30-60 KB of JSON: within every channel's default.</summary>
    public const int DefaultMaxClassesInEvent = 100;

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>Where the evaluation of the model in <paramref name="checkpoint"/> is written.</summary>
    public static string PathBeside(string checkpoint) => Path.ChangeExtension(checkpoint, null) + ".evaluation.json";

    /// <summary>Writes the evaluation of <paramref name="c"/> beside its checkpoint (a temporary file renamed into place) and describes it.</summary>
    public static object Write(FineTuneCompleted c)
    {
        var path = PathBeside(c.Checkpoint.Path);
        var data = new
        {
            run = c.RunId,
            task = c.Task.Name,
            classes = c.Task.Classes.Classes,
            class_names = c.Checkpoint.Metadata?.ClassNames,
            top1 = c.Test.Top1, top5 = c.Test.Top5, loss = c.Test.Loss, test_examples = c.Test.Examples,
            per_class_top1 = c.Test.PerClassTop1,
            confusion = c.Test.Confusion,
        };
        using (var file = File.Create(path + ".partial")) JsonSerializer.Serialize(file, data, Json);
        File.Move(path + ".partial", path, overwrite: true);
        var (sha256, bytes) = BitActors.Model.Checkpoints.CheckpointFiles.Hash(path);
        return new { uri = new Uri(path).AbsoluteUri, sha256, bytes };
    }
}
