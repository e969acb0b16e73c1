using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Experiments.Analysis;
using Experiments.Plotting;
using Experiments.Running;
using ScottPlot;

namespace Experiments.SmootherLoss;

/// <summary>The landscape probes of both networks and what they show.</summary>
public sealed class SmootherLossResult : IExperimentResult
{
    public SmootherLossResult(SmootherLossOptions options, LandscapeTrace withNorm, LandscapeTrace without, double withAccuracy, double withoutAccuracy)
    {
        Options = options;
        WithNorm = withNorm;
        Without = without;
        WithNormTestAccuracy = withAccuracy;
        WithoutTestAccuracy = withoutAccuracy;
    }

    public SmootherLossOptions Options { get; }

    public LandscapeTrace WithNorm { get; }

    public LandscapeTrace Without { get; }

    public double WithNormTestAccuracy { get; }

    public double WithoutTestAccuracy { get; }

    /// <summary>The median over the probes of the loss range (highest minus lowest loss along the gradient direction).</summary>
    public static double MedianLossRange(LandscapeTrace trace) => Median(trace.MaxLoss.Zip(trace.MinLoss, (max, min) => max - min).ToArray());

    public static double MedianGradientChange(LandscapeTrace trace) => Median(trace.GradientChange.ToArray());

    public static double MedianSmoothness(LandscapeTrace trace) => Median(trace.Smoothness.ToArray());

    public SummaryTable Summary()
    {
        var table = new SummaryTable("ReLU MLP 64-100x4-10, 8x8 digits; probed along -grad, steps 0.05..0.4", "median over the probes", "with BatchNorm1d", "without");
        table.Add("loss range along the gradient", Number(MedianLossRange(WithNorm)), Number(MedianLossRange(Without)));
        table.Add("gradient change ||g(w-ηg) - g(w)||", Number(MedianGradientChange(WithNorm)), Number(MedianGradientChange(Without)));
        table.Add("effective β-smoothness", Number(MedianSmoothness(WithNorm)), Number(MedianSmoothness(Without)));
        table.Add("test accuracy at the end", Percent(WithNormTestAccuracy), Percent(WithoutTestAccuracy));
        table.Conclusion = "Along the gradient, the loss of the batch-normalized network varies less and its gradient changes less: a smoother landscape.";
        return table;
    }

    public CsvTable Data()
    {
        var csv = new CsvTable("network", "step", "loss", "min_loss", "max_loss", "gradient_change", "beta_smoothness");
        foreach ((string name, LandscapeTrace trace) in new[] { ("batchnorm", WithNorm), ("plain", Without) })
        {
            for (int i = 0; i < trace.Count; i++)
            {
                csv.Add(name, trace.Steps[i], trace.Loss[i], trace.MinLoss[i], trace.MaxLoss[i], trace.GradientChange[i], trace.Smoothness[i]);
            }
        }

        return csv;
    }

    public void SavePicture(string path)
    {
        Plot loss = Charts.NewPlot("(a) loss landscape", "training step", "loss along the gradient, lowest to highest");
        Plot change = Charts.NewPlot("(b) gradient predictiveness", "training step", "max ||∇L(w − η∇L) − ∇L(w)||");
        Plot smooth = Charts.NewPlot("(c) effective β-smoothness", "training step", "max gradient change / distance");
        foreach ((LandscapeTrace trace, Color color, string name) in new[] { (Without, Charts.Without, "without"), (WithNorm, Charts.WithNorm, "with BatchNorm1d") })
        {
            double[] xs = trace.Steps.Select(s => (double)s).ToArray();
            var band = loss.Add.FillY(xs, Charts.Log10(trace.MinLoss.ToArray()), Charts.Log10(trace.MaxLoss.ToArray()));
            band.FillColor = color.WithAlpha(0.35);
            band.LineColor = color;
            band.LegendText = name;
            Charts.Line(change, xs, Charts.Log10(trace.GradientChange.ToArray()), color, name);
            Charts.Line(smooth, xs, Charts.Log10(trace.Smoothness.ToArray()), color, name);
        }

        Charts.LogAxis(loss.Axes.Left, All(t => t.MinLoss).Min(), All(t => t.MaxLoss).Max());
        Charts.LogAxis(change.Axes.Left, All(t => t.GradientChange).Min(), All(t => t.GradientChange).Max());
        Charts.LogAxis(smooth.Axes.Left, All(t => t.Smoothness).Min(), All(t => t.Smoothness).Max());
        Charts.Legend(loss, Alignment.UpperRight);
        Charts.Legend(change, Alignment.UpperRight);
        Charts.Legend(smooth, Alignment.UpperRight);
        Charts.Save(path, 1500, 450, loss, change, smooth);
    }

    private IEnumerable<double> All(Func<LandscapeTrace, List<double>> series) =>
        series(WithNorm).Concat(series(Without));

    private static double Median(double[] values) => Statistics.Percentile(values, 50);

    private static string Number(double value) => value.ToString("G3", CultureInfo.InvariantCulture);

    private static string Percent(double value) => value.ToString("P1", CultureInfo.InvariantCulture);
}
