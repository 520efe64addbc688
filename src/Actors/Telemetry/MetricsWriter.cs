using TorchSharp;

namespace BitActors.Actors.Telemetry;

/// <summary>
/// A folder's <c>metrics.jsonl</c> and its TensorBoard event file (<c>events.out.tfevents.*</c>, TorchSharp's
/// <c>SummaryWriter</c>), written together from each <see cref="MetricsLine"/> so the two always agree: every number
/// of the line becomes a scalar tagged <c>TASK/NAME</c> (<see cref="Scalars"/>) at the line's step. A run folder holds
/// its tasks' lines (upstream and each fine-tune task); a cluster task's folder in the artifact store holds that
/// task's, from every attempt (each process adds its own event file; TensorBoard reads them all).
/// </summary>
public sealed class MetricsWriter : IDisposable
{
    /// <summary>How TensorBoard's event files are named; the rest of the name is the time, host and process.</summary>
    public const string EventFilePrefix = "events.out.tfevents.";

    private readonly StreamWriter _lines;
    private readonly TorchSharp.Modules.SummaryWriter _board;

    /// <param name="metricsPath">The <c>metrics.jsonl</c> to append to; the event file goes beside it.</param>
    public MetricsWriter(string metricsPath)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(metricsPath))!;
        Directory.CreateDirectory(folder);
        _lines = new StreamWriter(metricsPath, append: true) { AutoFlush = true };
        _board = torch.utils.tensorboard.SummaryWriter(folder);
    }

    /// <summary>The writer, or null (told to <paramref name="warn"/>) when the folder cannot be written: training goes on without the files.</summary>
    public static MetricsWriter? TryOpen(string metricsPath, Action<string> warn)
    {
        try
        {
            return new MetricsWriter(metricsPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            warn($"no metrics files at {metricsPath}: {e.Message}");
            return null;
        }
    }

    public void Write(MetricsLine line)
    {
        _lines.WriteLine(MetricsLog.Serialize(line));
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        foreach (var (name, value) in Scalars(line)) _board.add_scalar($"{line.Task}/{name}", (float)value, line.Step, now);
    }

    /// <summary>The numbers of a line under their TensorBoard names (those of metrics.jsonl).</summary>
    public static IEnumerable<(string Name, double Value)> Scalars(MetricsLine line)
    {
        (string, double?)[] all =
        [
            ("loss", line.Loss), ("train_top1", line.TrainTop1), ("lr", line.Lr), ("images_per_second", line.ImagesPerSecond),
            ("data_wait_seconds", line.DataWaitSeconds), ("test_top1", line.TestTop1), ("test_top5", line.TestTop5), ("test_loss", line.TestLoss),
        ];
        return all.Where(s => s.Item2 is not null).Select(s => (s.Item1, s.Item2!.Value));
    }

    public void Dispose() => _lines.Dispose();
}
