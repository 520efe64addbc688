using BitActors.Cli.Demo;
using ScottPlot;

namespace BitActors.Cli.Reports;

/// <summary>
/// A transfer suite's plot: median test top-1 against the shot counts (evenly spaced, every example last), one colour per
/// dataset, transfer solid and scratch dashed, and the suite mean of transfer as a thick black line. Drawn with ScottPlot.
/// </summary>
public static class SuitePlot
{
    public static void Write(string path, SuiteReport report, string title, int width = 900, int height = 560)
    {
        var plot = new Plot();
        DemoPlot.UseFont(plot);
        var shots = report.Rows.OrderBy(r => r.Vtab1k).ThenBy(r => r.Shots ?? int.MaxValue).Select(r => r.Label).Distinct().ToList();
        double X(string label) => shots.IndexOf(label);
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        foreach (var k in shots) ticks.AddMajor(X(k), k);

        var palette = new ScottPlot.Palettes.Category10();
        var datasets = report.Rows.Select(r => r.Dataset).Distinct().ToList();
        double lowest = 100;
        void Line(IReadOnlyList<(double X, double Y)> points, string label, Color color, LinePattern pattern, float width)
        {
            if (points.Count == 0) return;
            var line = plot.Add.Scatter(points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray());
            line.LegendText = label;
            line.Color = color;
            line.LinePattern = pattern;
            line.LineWidth = width;
            line.MarkerSize = 7;
            lowest = Math.Min(lowest, points.Min(p => p.Y));
        }
        for (int i = 0; i < datasets.Count; i++)
        {
            var rows = report.Rows.Where(r => r.Dataset == datasets[i]).ToList();
            var color = palette.GetColor(i);
            Line(rows.Where(r => r.Transfer is not null).Select(r => (X(r.Label), r.Transfer!.MedianTop1 * 100)).ToList(), $"{datasets[i]} transfer", color, LinePattern.Solid, 2);
            Line(rows.Where(r => r.Scratch is not null).Select(r => (X(r.Label), r.Scratch!.MedianTop1 * 100)).ToList(), $"{datasets[i]} scratch", color, LinePattern.Dashed, 1.5f);
        }
        Line(report.Means.Where(m => !m.Overall).Select(m => (X(m.Label), m.TransferTop1 * 100)).ToList(), "suite mean (transfer)", Colors.Black, LinePattern.Solid, 4);

        plot.Axes.Bottom.TickGenerator = ticks;
        plot.Axes.SetLimitsX(-0.3, Math.Max(1, shots.Count - 1) + 0.3);
        plot.Axes.SetLimitsY(Math.Max(0, Math.Floor(lowest / 10) * 10 - 5), 100);
        plot.Title(title);
        plot.XLabel("training examples per class (or protocol)");
        plot.YLabel("test top-1 (%), median over seeds");
        plot.ShowLegend(Alignment.LowerRight);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        plot.SavePng(path, width, height);
    }
}
