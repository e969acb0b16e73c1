using System;
using System.Globalization;
using System.Linq;
using Experiments.Plotting;
using Experiments.Running;
using ScottPlot;

namespace Experiments.LengthDirection;

/// <summary>The scale-invariance check, the orthogonality of the gradients and the weight norm and effective step over training.</summary>
public sealed class LengthDirectionResult : IExperimentResult
{
    public LengthDirectionResult(LengthDirectionOptions options, double[] invarianceDefaultEpsilon, double[] invarianceZeroEpsilon, LengthDirectionTrace trace)
    {
        Options = options;
        InvarianceDefaultEpsilon = invarianceDefaultEpsilon;
        InvarianceZeroEpsilon = invarianceZeroEpsilon;
        Trace = trace;
    }

    public LengthDirectionOptions Options { get; }

    /// <summary>max |BN(αWx) − BN(Wx)| for each of <see cref="LengthDirectionOptions.Alphas"/>, epsilon 1e-5.</summary>
    public double[] InvarianceDefaultEpsilon { get; }

    /// <summary>The same with epsilon 0: what is left is rounding.</summary>
    public double[] InvarianceZeroEpsilon { get; }

    public LengthDirectionTrace Trace { get; }

    /// <summary>The largest |cos(∇w_k, w_k)| over all rows, layers and checks.</summary>
    public double MaxCosine => Trace.MaxCosine.Max();

    /// <summary>The mean effective step over the first tenth of training.</summary>
    public double EarlyEffectiveStep => Trace.EffectiveStep.Take(Tenth).Average();

    /// <summary>The mean effective step over the last tenth of training.</summary>
    public double LateEffectiveStep => Trace.EffectiveStep.Skip(Trace.EffectiveStep.Count - Tenth).Average();

    private int Tenth => Math.Max(1, Trace.EffectiveStep.Count / 10);

    public SummaryTable Summary()
    {
        var table = new SummaryTable("ReLU MLP 64-100x3-10 with BatchNorm1d, 8x8 digits, plain SGD lr " + Invariant(Options.LearningRate), "measure", "value");
        for (int i = 0; i < Options.Alphas.Length; i++)
        {
            table.Add(
                $"max |BN(αWx) − BN(Wx)|, α = {Invariant(Options.Alphas[i])}",
                $"{Scientific(InvarianceZeroEpsilon[i])} (ε = 0), {Scientific(InvarianceDefaultEpsilon[i])} (ε = 1e-5)");
        }

        table.Add("max |cos(∇w_k, w_k)| over rows and steps", Scientific(MaxCosine));
        int layer = Options.Layer + 1;
        table.Add($"||W|| of hidden layer {layer}, start → end", $"{Fixed(Trace.WeightNorm[0])} → {Fixed(Trace.WeightNorm[^1])}");
        table.Add($"||ΔW|| / ||W||, first → last tenth", $"{Scientific(EarlyEffectiveStep)} → {Scientific(LateEffectiveStep)}");
        table.Conclusion = "Batch norm makes each weight row's length irrelevant: the gradient is orthogonal to it, so SGD only lengthens W, and the effective step shrinks.";
        return table;
    }

    public CsvTable Data()
    {
        var csv = new CsvTable("step", "weight_norm", "effective_step", "max_abs_cosine");
        for (int step = 0; step < Trace.EffectiveStep.Count; step++)
        {
            int check = Trace.CheckSteps.IndexOf(step);
            csv.Add(step, Trace.WeightNorm[step], Trace.EffectiveStep[step], check < 0 ? string.Empty : Trace.MaxCosine[check]);
        }

        return csv;
    }

    public void SavePicture(string path)
    {
        int layer = Options.Layer + 1;
        double[] steps = Enumerable.Range(0, Trace.WeightNorm.Count).Select(s => (double)s).ToArray();
        Plot norm = Charts.NewPlot($"(a) ||W|| of hidden layer {layer} grows", "training step", "||W|| (Frobenius)");
        Charts.Line(norm, steps, Trace.WeightNorm.ToArray(), Charts.WithNorm, "||W||");

        Plot step = Charts.NewPlot("(b) while the effective step shrinks", "training step", "||ΔW|| / ||W|| (log scale)");
        double[] effective = Trace.EffectiveStep.ToArray();
        double[] xs = steps[1..];
        Charts.Line(step, xs, Charts.Log10(effective), Charts.WithNorm.WithAlpha(0.3), "each step");
        Charts.Line(step, xs, Charts.Log10(MovingAverage(effective, Math.Max(1, effective.Length / 50))), Charts.WithNorm, "moving average");
        Charts.LogAxis(step.Axes.Left, effective.Min(), effective.Max());
        Charts.Legend(step, Alignment.UpperRight);

        Plot cosine = Charts.NewPlot("(c) the gradient is orthogonal to W", "training step", "max over rows |cos(∇w_k, w_k)|");
        double[] cosines = Trace.MaxCosine.ToArray();
        Charts.Points(cosine, Trace.CheckSteps.Select(s => (double)s).ToArray(), Charts.Log10(cosines), Charts.WithNorm, "all hidden layers");
        Charts.LogAxis(cosine.Axes.Left, Math.Min(cosines.Min(), 1e-8), 1);
        Charts.Legend(cosine, Alignment.UpperRight);
        Charts.Save(path, 1500, 450, norm, step, cosine);
    }

    private static double[] MovingAverage(double[] values, int window)
    {
        var averages = new double[values.Length];
        double sum = 0;
        for (int i = 0; i < values.Length; i++)
        {
            sum += values[i];
            if (i >= window)
            {
                sum -= values[i - window];
            }

            averages[i] = sum / Math.Min(i + 1, window);
        }

        return averages;
    }

    private static string Invariant(double value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Scientific(double value) => value.ToString("0.0e0", CultureInfo.InvariantCulture);

    private static string Fixed(double value) => value.ToString("F2", CultureInfo.InvariantCulture);
}
