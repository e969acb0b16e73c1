using System;
using System.Globalization;
using System.Linq;
using Experiments.Analysis;
using Experiments.Plotting;
using Experiments.Running;
using ScottPlot;

namespace Experiments.GradientExplosion;

/// <summary>The gradient norms per layer of both networks, the fitted growth rates and the paper's.</summary>
public sealed class GradientExplosionResult : IExperimentResult
{
    public GradientExplosionResult(GradientExplosionOptions options, double[] plainLogNorms, double[] residualLogNorms)
    {
        Options = options;
        PlainLogNorms = plainLogNorms;
        ResidualLogNorms = residualLogNorms;
        PlainFit = Fit(plainLogNorms);
        ResidualFit = Fit(residualLogNorms);
    }

    public GradientExplosionOptions Options { get; }

    /// <summary>ln ||dL/dW_l|| for l = 0 (nearest the input) .. Depth − 1, without skip connections.</summary>
    public double[] PlainLogNorms { get; }

    public double[] ResidualLogNorms { get; }

    /// <summary>The least-squares line through ln ||dL/dW_l|| against l (the last blocks left out).</summary>
    public (double Intercept, double Slope) PlainFit { get; }

    public (double Intercept, double Slope) ResidualFit { get; }

    /// <summary>The fitted factor by which the gradient norm grows per layer, going from the output towards the input.</summary>
    public double PlainRate => Math.Exp(-PlainFit.Slope);

    public double ResidualRate => Math.Exp(-ResidualFit.Slope);

    public int FittedLayers => Options.Depth - Options.FitSkipsLast;

    /// <summary>The fitted growth per layer over the deeper half of the fitted layers only (from the middle to the output side).</summary>
    public double PlainRateDeepHalf => Math.Exp(-Fit(PlainLogNorms, FittedLayers / 2).Slope);

    public double ResidualRateDeepHalf => Math.Exp(-Fit(ResidualLogNorms, FittedLayers / 2).Slope);

    public SummaryTable Summary()
    {
        double predicted = GradientExplosionExperiment.PredictedRate;
        var table = new SummaryTable(
            string.Create(CultureInfo.InvariantCulture, $"{Options.Depth} x [Linear {Options.Width}, BatchNorm1d, ReLU] at init, batch {Options.BatchSize}, {Options.Networks} nets"),
            "gradient norm per layer",
            "no skips",
            "with skips",
            "Yang et al.");
        table.Add("growth per layer (fit)", Number(PlainRate), Number(ResidualRate), Number(predicted));
        table.Add($"same, layers {(FittedLayers / 2) + 1}-{FittedLayers} only", Number(PlainRateDeepHalf), Number(ResidualRateDeepHalf), Number(predicted));
        table.Add("growth of its square", Number(PlainRate * PlainRate), Number(ResidualRate * ResidualRate), Number(predicted * predicted));
        table.Add("layer 1 / last layer", Ratio(PlainLogNorms), Ratio(ResidualLogNorms), "");
        table.Conclusion = "Without skips the gradient explodes towards the input at the rate the mean-field theory predicts; with identity skips it grows only slowly (not exponentially), most of it in the first layers.";
        return table;
    }

    public CsvTable Data()
    {
        var csv = new CsvTable("layer", "grad_norm_plain", "grad_norm_residual", "fit_plain", "fit_residual");
        for (int l = 0; l < Options.Depth; l++)
        {
            csv.Add(l + 1, Math.Exp(PlainLogNorms[l]), Math.Exp(ResidualLogNorms[l]), Math.Exp(PlainFit.Intercept + (PlainFit.Slope * l)), Math.Exp(ResidualFit.Intercept + (ResidualFit.Slope * l)));
        }

        return csv;
    }

    public void SavePicture(string path)
    {
        Plot plot = Charts.NewPlot(
            string.Create(CultureInfo.InvariantCulture, $"Gradient norm per layer at initialization ({Options.Depth} blocks, width {Options.Width})"),
            "layer (1 = nearest the input)",
            "||dL/dW|| (mean over networks, log scale)");
        double[] layers = Enumerable.Range(1, Options.Depth).Select(l => (double)l).ToArray();
        double[] fitted = layers[..FittedLayers];
        Charts.Points(plot, layers, Log10(PlainLogNorms), Charts.Without, "BatchNorm1d + ReLU, no skips");
        Charts.Line(plot, fitted, Line(PlainFit, fitted), Charts.Without, string.Create(CultureInfo.InvariantCulture, $"fit: x{PlainRate:F3} per layer"), dashed: true);
        Charts.Points(plot, layers, Log10(ResidualLogNorms), Charts.WithNorm, "with identity skips");
        Charts.Line(plot, fitted, Line(ResidualFit, fitted), Charts.WithNorm, string.Create(CultureInfo.InvariantCulture, $"fit: x{ResidualRate:F3} per layer"), dashed: true);

        // The prediction, drawn through the fitted line's value at the last fitted layer.
        double slope = -Math.Log(GradientExplosionExperiment.PredictedRate);
        double anchor = PlainFit.Intercept + (PlainFit.Slope * (FittedLayers - 1));
        double[] predicted = fitted.Select(x => (anchor + (slope * (x - FittedLayers))) / Math.Log(10)).ToArray();
        Charts.Line(plot, fitted, predicted, Charts.Grey, string.Create(CultureInfo.InvariantCulture, $"Yang et al.: x{GradientExplosionExperiment.PredictedRate:F3} = √(π/(π−1))"), dashed: true);
        double[] all = PlainLogNorms.Concat(ResidualLogNorms).Select(Math.Exp).ToArray();
        Charts.LogAxis(plot.Axes.Left, all.Min(), all.Max());
        Charts.Legend(plot, Alignment.UpperRight);
        Charts.Save(path, 1000, 550, plot);
    }

    /// <summary>The least-squares line through ln ||dL/dW_l|| for l = <paramref name="first"/> .. the last fitted layer.</summary>
    private (double Intercept, double Slope) Fit(double[] logNorms, int first = 0)
    {
        double[] xs = Enumerable.Range(first, FittedLayers - first).Select(l => (double)l).ToArray();
        return Statistics.FitLine(xs, logNorms.AsSpan(first, FittedLayers - first));
    }

    /// <summary>log10 of the fitted norm at each layer (numbered from 1).</summary>
    private static double[] Line((double Intercept, double Slope) fit, double[] layers) =>
        layers.Select(x => (fit.Intercept + (fit.Slope * (x - 1))) / Math.Log(10)).ToArray();

    private static double[] Log10(double[] logNorms) => logNorms.Select(v => v / Math.Log(10)).ToArray();

    private static string Ratio(double[] logNorms) => Math.Exp(logNorms[0] - logNorms[^1]).ToString("G3", CultureInfo.InvariantCulture);

    private static string Number(double value) => value.ToString("F3", CultureInfo.InvariantCulture);
}
