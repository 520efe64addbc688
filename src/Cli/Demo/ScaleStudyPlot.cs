using System.Globalization;
using ScottPlot;

namespace BitActors.Cli.Demo;

/// <summary>
/// The scale study's plot: per upstream variant, transfer − scratch (paired mean over seeds, points of top-1) against
/// examples per class (log scale), each point with its 95 % interval as a vertical bar; zero (no gain) as a line.
/// </summary>
public static class ScaleStudyPlot
{
    public static void Write(string path, ScaleStudyReport report, int width = 900, int height = 560)
    {
        var plot = new Plot();
        DemoPlot.UseFont(plot);
        var shots = report.Shots;
        static double X(int? k, int index) => k is int n ? Math.Log10(n) : index;
        var xs = shots.Select((k, i) => X(k, i)).ToList();
        if (shots.Any(k => k is null)) xs[^1] = shots.Where(k => k is not null).Select(k => Math.Log10(k!.Value)).DefaultIfEmpty(0).Max() + 0.5;
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (int i = 0; i < shots.Count; i++) ticks.AddMajor(xs[i], shots[i]?.ToString(CultureInfo.InvariantCulture) ?? "all");

        var palette = new ScottPlot.Palettes.Category10();
        var variants = report.Variants;
        double low = 0, high = 0;
        for (int v = 0; v < variants.Count; v++)
        {
            var color = palette.GetColor(v);
            double offset = (v - (variants.Count - 1) / 2.0) * 0.04;
            var points = shots.Select((k, i) => (X: xs[i] + offset, Paired: report.PointOf(variants[v], k).VersusScratch))
                .Where(p => p.Paired is not null).ToList();
            if (points.Count == 0) continue;
            var line = plot.Add.Scatter(points.Select(p => p.X).ToArray(), points.Select(p => p.Paired!.Mean).ToArray());
            line.LegendText = variants[v].Label;
            line.Color = color;
            line.LineWidth = 2;
            line.MarkerSize = 8;
            foreach (var (x, paired) in points)
            {
                low = Math.Min(low, paired!.Mean);
                high = Math.Max(high, paired.Mean);
                if (paired.Interval95 is not var (lo, hi)) continue;
                var bar = plot.Add.Line(x, lo, x, hi);
                bar.Color = color;
                bar.LineWidth = 2;
                low = Math.Min(low, lo);
                high = Math.Max(high, hi);
            }
        }
        var zero = plot.Add.HorizontalLine(0);
        zero.Color = Colors.Gray;
        zero.LinePattern = LinePattern.Dashed;

        plot.Axes.Bottom.TickGenerator = ticks;
        plot.Axes.SetLimitsX(xs.DefaultIfEmpty(0).Min() - 0.2, xs.DefaultIfEmpty(0).Max() + 0.2);
        plot.Axes.SetLimitsY(Math.Floor(low) - 1, Math.Ceiling(high) + 1);
        plot.Title("scale study: transfer − scratch, paired by seed (95 % interval)");
        plot.XLabel("training examples per class (log scale)");
        plot.YLabel("transfer − scratch (points of top-1)");
        plot.ShowLegend(Edge.Bottom);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        plot.SavePng(path, width, height);
    }
}
