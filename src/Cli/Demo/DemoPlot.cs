using System.Globalization;
using ScottPlot;
using Serilog;

namespace BitActors.Cli.Demo;

/// <summary>
/// Test top-1 against training examples per class (log scale): the median over seeds of transfer and of
/// scratch as lines, every seed's result as a small open marker beside it. Drawn with ScottPlot (SkiaSharp).
/// </summary>
public static class DemoPlot
{
    private const string FontName = "BitActorsPlotSans";
    private static readonly Lazy<string?> Font = new(RegisterFont);

    /// <summary>The registered font family for plots (null: no font file found; the plot then has no text).</summary>
    internal static string? FontFamily => Font.Value;

    /// <summary>
    /// SkiaSharp's NoDependencies native build has no font manager (no fontconfig), so text needs a font file:
    /// DejaVu Sans (Debian's fonts-dejavu-core) or else any TrueType font under /usr/share/fonts.
    /// </summary>
    private static string? RegisterFont()
    {
        string[] preferred = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans.ttf"];
        var path = preferred.FirstOrDefault(File.Exists);
        if (path is null && Directory.Exists("/usr/share/fonts"))
            path = Directory.EnumerateFiles("/usr/share/fonts", "*.ttf", SearchOption.AllDirectories)
                .OrderByDescending(f => Path.GetFileName(f).Contains("Sans", StringComparison.OrdinalIgnoreCase))
                .ThenBy(f => f, StringComparer.Ordinal).FirstOrDefault();
        if (path is null)
        {
            Log.Warning("no TrueType font found under /usr/share/fonts: the plot has no text (install fonts-dejavu-core)");
            return null;
        }
        Fonts.AddFontFile(FontName, path);
        return FontName;
    }

    /// <summary>Gives <paramref name="plot"/> the registered font (see <see cref="RegisterFont"/>), when one was found.</summary>
    public static void UseFont(Plot plot)
    {
        if (Font.Value is { } font) plot.Font.Set(font);
    }

    /// <summary>Where a row sits on the x axis: log10 of its examples per class.</summary>
    public static double X(DemoReport.Row row, int classes) => Math.Log10(Math.Max(1, row.ExamplesPerClass(classes)));

    public static void Write(string path, IReadOnlyList<DemoReport.Row> rows, int classes, string title, int width = 900, int height = 560)
    {
        var plot = new Plot();
        UseFont(plot);
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        foreach (var r in rows)
            ticks.AddMajor(X(r, classes), r.Shots is int k ? k.ToString(CultureInfo.InvariantCulture) : $"all ({r.ExamplesPerClass(classes):N0})");

        double lowest = 100;
        void Arm(Func<DemoReport.Row, DemoReport.Arm?> pick, string name, Color color, LinePattern pattern, double offset)
        {
            var points = rows.Where(r => pick(r) is not null).Select(r => (X: X(r, classes), Arm: pick(r)!)).ToList();
            if (points.Count == 0) return;
            var median = plot.Add.Scatter(points.Select(p => p.X).ToArray(), points.Select(p => p.Arm.MedianTop1 * 100).ToArray());
            var seeds = points.Max(p => p.Arm.Runs.Count);
            median.LegendText = seeds > 1 ? $"{name} (median of {seeds} seeds)" : name;
            median.Color = color;
            median.LineWidth = 2;
            median.MarkerSize = 8;
            median.LinePattern = pattern;
            var each = points.SelectMany(p => p.Arm.Runs.Select(run => (X: p.X + offset, Y: run.Test.Top1 * 100))).ToList();
            var scatter = plot.Add.ScatterPoints(each.Select(e => e.X).ToArray(), each.Select(e => e.Y).ToArray());
            scatter.Color = color.WithAlpha(0.6);
            scatter.MarkerShape = MarkerShape.OpenCircle;
            scatter.MarkerSize = 6;
            lowest = Math.Min(lowest, each.Min(e => e.Y));
        }
        Arm(r => r.Transfer, "transfer (BiT backbone)", Colors.C0, LinePattern.Solid, -0.02);
        Arm(r => r.Scratch, "from scratch", Colors.C1, LinePattern.Dashed, 0.02);

        plot.Axes.Bottom.TickGenerator = ticks;
        var xs = rows.Select(r => X(r, classes)).DefaultIfEmpty(0).ToArray();
        plot.Axes.SetLimitsX(xs.Min() - 0.15, xs.Max() + 0.25);
        plot.Axes.SetLimitsY(Math.Max(0, Math.Floor(lowest / 10) * 10 - 5), 100);
        plot.Title(title);
        plot.XLabel("training examples per class (log scale)");
        plot.YLabel("test top-1 (%)");
        plot.ShowLegend(Alignment.LowerRight);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        plot.SavePng(path, width, height);
    }
}
