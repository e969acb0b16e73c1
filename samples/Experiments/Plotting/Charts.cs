using System;
using System.Globalization;
using System.Linq;
using ScottPlot;
using ScottPlot.Plottables;
using ScottPlot.TickGenerators;

namespace Experiments.Plotting;

/// <summary>The pictures' common style: colours, lines, log axes and saving one or several panels as a PNG.</summary>
public static class Charts
{
    /// <summary>With batch norm.</summary>
    public static readonly Color WithNorm = Color.FromHex("#1f77b4");

    /// <summary>Without batch norm.</summary>
    public static readonly Color Without = Color.FromHex("#d62728");

    public static readonly Color Third = Color.FromHex("#2ca02c");

    public static readonly Color Grey = Color.FromHex("#7f7f7f");

    public static Plot NewPlot(string title, string xLabel, string yLabel)
    {
        EmbeddedFonts.Register();
        var plot = new Plot();
        plot.Title(title, 15);
        plot.XLabel(xLabel, 13);
        plot.YLabel(yLabel, 13);
        return plot;
    }

    public static Scatter Line(Plot plot, double[] xs, double[] ys, Color color, string legend, bool dashed = false)
    {
        Scatter line = plot.Add.ScatterLine(xs, ys, color);
        line.LegendText = legend;
        line.LineWidth = 2;
        if (dashed)
        {
            line.LinePattern = LinePattern.Dashed;
        }

        return line;
    }

    public static Scatter Points(Plot plot, double[] xs, double[] ys, Color color, string legend)
    {
        Scatter points = plot.Add.ScatterPoints(xs, ys, color);
        points.LegendText = legend;
        points.MarkerSize = 7;
        return points;
    }

    /// <summary>The base-10 logarithm of each value, for a <see cref="LogAxis"/>.</summary>
    public static double[] Log10(double[] values) => values.Select(Math.Log10).ToArray();

    /// <summary>
    /// Labels an axis that shows log10 values with the values themselves: 1, 2 and 5 times the powers of ten between
    /// <paramref name="min"/> and <paramref name="max"/> (the values, not their logarithms), minor ticks at the other digits.
    /// </summary>
    public static void LogAxis(IAxis axis, double min, double max)
    {
        var ticks = new NumericManual();
        for (int power = (int)Math.Floor(Math.Log10(min)); power <= (int)Math.Ceiling(Math.Log10(max)); power++)
        {
            for (int digit = 1; digit <= 9; digit++)
            {
                double value = digit * Math.Pow(10, power);
                if (digit is 1 or 2 or 5)
                {
                    ticks.AddMajor(Math.Log10(value), Label(value));
                }
                else
                {
                    ticks.AddMinor(Math.Log10(value));
                }
            }
        }

        axis.TickGenerator = ticks;
    }

    /// <summary>A tick label: 0.05, 20, 5e-5, 2e4.</summary>
    private static string Label(double value) =>
        value is >= 1e-3 and < 1e4 ? value.ToString("G4", CultureInfo.InvariantCulture) : value.ToString("0e0", CultureInfo.InvariantCulture);

    /// <summary>Shows the legend in a corner.</summary>
    public static void Legend(Plot plot, Alignment alignment = Alignment.LowerRight)
    {
        plot.ShowLegend(alignment);
        plot.Legend.FontSize = 12;
    }

    /// <summary>Saves one panel, or several side by side, as a PNG of <paramref name="width"/> x <paramref name="height"/> pixels.</summary>
    public static void Save(string path, int width, int height, params Plot[] panels)
    {
        if (panels.Length == 1)
        {
            panels[0].SavePng(path, width, height);
            return;
        }

        var multiplot = new Multiplot(panels[0]);
        for (int i = 1; i < panels.Length; i++)
        {
            multiplot.AddPlot(panels[i]);
        }

        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        multiplot.SavePng(path, width, height);
    }
}
