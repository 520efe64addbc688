using BitActors.Actors.Telemetry;
using BitActors.Cli.Demo;
using ScottPlot;

namespace BitActors.Cli.Reports;

/// <summary>
/// A run's PNG plots, one per quantity with one line per task (upstream and every fine-tune task): training
/// loss, learning rate and accuracy (train top-1 per report, the test top-1 of each evaluated model as a
/// marker at its last step). <see cref="Charts"/> is the data; <see cref="Write"/> draws it with ScottPlot.
/// </summary>
public static class RunPlots
{
    public const string Folder = "plots";

    /// <summary>One line of a chart: the task it belongs to, x (steps) and y; <c>Markers</c>: points, no line.</summary>
    public sealed record Series(string Label, double[] X, double[] Y, bool Markers = false);

    public sealed record Chart(string File, string Title, string YLabel, IReadOnlyList<Series> Series);

    public static IReadOnlyList<Chart> Charts(IReadOnlyList<MetricsLine> metrics)
    {
        var train = metrics.Where(m => !m.IsTest).GroupBy(m => m.Task).ToList();
        Series Line(IGrouping<string, MetricsLine> task, Func<MetricsLine, double?> y, double scale = 1)
        {
            var points = task.Where(m => y(m) is double v && double.IsFinite(v)).OrderBy(m => m.Step).ToList();
            return new Series(task.Key, points.Select(m => (double)m.Step).ToArray(), points.Select(m => y(m)!.Value * scale).ToArray());
        }
        var tests = metrics.Where(m => m.IsTest && m.TestTop1 is double v && double.IsFinite(v))
            .Select(m => new Series($"{m.Task} (test)", [m.Step], [m.TestTop1!.Value * 100], Markers: true));
        return
        [
            new Chart("loss.png", "Training loss", "loss", train.Select(t => Line(t, m => m.Loss)).ToList()),
            new Chart("lr.png", "Learning rate", "learning rate", train.Select(t => Line(t, m => m.Lr)).ToList()),
            new Chart("accuracy.png", "Accuracy", "top-1 (%)", train.Select(t => Line(t, m => m.TrainTop1, 100)).Concat(tests).ToList()),
        ];
    }

    /// <summary>Draws every chart into <c>folder/plots/</c>; returns the files written.</summary>
    public static IReadOnlyList<string> Write(string folder, IReadOnlyList<Chart> charts, int width = 900, int height = 520)
    {
        var dir = Path.Combine(folder, Folder);
        Directory.CreateDirectory(dir);
        var written = new List<string>();
        foreach (var chart in charts)
        {
            var plot = new Plot();
            if (DemoPlot.FontFamily is { } font) plot.Font.Set(font);
            foreach (var s in chart.Series.Where(s => s.X.Length > 0))
            {
                var scatter = s.Markers ? plot.Add.ScatterPoints(s.X, s.Y) : plot.Add.Scatter(s.X, s.Y);
                scatter.LegendText = s.Label;
                if (!s.Markers) scatter.MarkerSize = s.X.Length > 30 ? 0 : 4;
                else scatter.MarkerSize = 8;
            }
            plot.Title(chart.Title);
            plot.XLabel("step");
            plot.YLabel(chart.YLabel);
            if (chart.Series.Count(s => s.X.Length > 0) is > 1 and <= 24) plot.ShowLegend(Alignment.UpperRight);
            var path = Path.Combine(dir, chart.File);
            plot.SavePng(path, width, height);
            written.Add(path);
        }
        return written;
    }
}
