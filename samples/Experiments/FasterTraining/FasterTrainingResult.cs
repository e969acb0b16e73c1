using System;
using System.Globalization;
using System.Linq;
using Experiments.Plotting;
using Experiments.Running;
using ScottPlot;

namespace Experiments.FasterTraining;

/// <summary>The two training runs of the first experiment and what they show.</summary>
public sealed class FasterTrainingResult : IExperimentResult
{
    public FasterTrainingResult(FasterTrainingOptions options, TrainingTrace withNorm, TrainingTrace without)
    {
        Options = options;
        WithNorm = withNorm;
        Without = without;
    }

    public FasterTrainingOptions Options { get; }

    public TrainingTrace WithNorm { get; }

    public TrainingTrace Without { get; }

    /// <summary>The mean test accuracy over all measurements: the area under the accuracy curve, so "faster" is one number.</summary>
    public static double MeanAccuracy(TrainingTrace trace) => trace.TestAccuracy.Average();

    /// <summary>The index of the first measurement at or after <see cref="FasterTrainingOptions.ReferenceStep"/>.</summary>
    public int ReferenceIndex => WithNorm.Steps.FindIndex(s => s >= Options.ReferenceStep);

    /// <summary>How far the median of the unit's input moved from the reference step to the end, in units of its final 15–85 % spread.</summary>
    public double MedianShift(TrainingTrace trace) =>
        Math.Abs(trace.P50[^1] - trace.P50[ReferenceIndex]) / Spread(trace, trace.Steps.Count - 1);

    /// <summary>The unit's 15–85 % spread at the end over its spread at the reference step.</summary>
    public double SpreadRatio(TrainingTrace trace) => Spread(trace, trace.Steps.Count - 1) / Spread(trace, ReferenceIndex);

    public SummaryTable Summary()
    {
        var table = new SummaryTable(
            "Sigmoid MLP 64-100-100-100-10, 8x8 digits; same init, batches, learning rate",
            "measure",
            "with BatchNorm1d",
            "without");
        string target = Percent(Options.TargetAccuracy);
        table.Add($"test accuracy, step {Options.Steps}", Percent(WithNorm.TestAccuracy[^1]), Percent(Without.TestAccuracy[^1]));
        table.Add("mean test accuracy, all steps", Percent(MeanAccuracy(WithNorm)), Percent(MeanAccuracy(Without)));
        table.Add($"first step at {target} accuracy", Step(WithNorm.FirstStepAtOrAbove(Options.TargetAccuracy)), Step(Without.FirstStepAtOrAbove(Options.TargetAccuracy)));
        int reference = WithNorm.Steps[ReferenceIndex];
        table.Add($"unit input p15/p50/p85, step {reference}", Percentiles(WithNorm, ReferenceIndex), Percentiles(Without, ReferenceIndex));
        table.Add("unit input p15/p50/p85, end", Percentiles(WithNorm, ^1), Percentiles(Without, ^1));
        table.Add("median shift (x final spread)", Number(MedianShift(WithNorm)), Number(MedianShift(Without)));
        table.Add($"spread, end / step {reference}", Number(SpreadRatio(WithNorm)), Number(SpreadRatio(Without)));
        table.Conclusion = "With batch norm the network learns in far fewer steps, and the distribution of the unit's input stays put after the first steps.";
        return table;
    }

    public CsvTable Data()
    {
        var csv = new CsvTable("network", "step", "test_accuracy", "p15", "p50", "p85");
        foreach ((string name, TrainingTrace trace) in new[] { ("batchnorm", WithNorm), ("plain", Without) })
        {
            for (int i = 0; i < trace.Steps.Count; i++)
            {
                csv.Add(name, trace.Steps[i], trace.TestAccuracy[i], trace.P15[i], trace.P50[i], trace.P85[i]);
            }
        }

        return csv;
    }

    public void SavePicture(string path)
    {
        Plot accuracy = Charts.NewPlot("(a) test accuracy", "training step", "test accuracy");
        Charts.Line(accuracy, Xs(WithNorm), WithNorm.TestAccuracy.ToArray(), Charts.WithNorm, "with BatchNorm1d");
        Charts.Line(accuracy, Xs(Without), Without.TestAccuracy.ToArray(), Charts.Without, "without");
        Charts.Legend(accuracy);
        Plot without = PercentilePlot("(b) without batch norm: one unit's input", Without, Charts.Without);
        Plot with = PercentilePlot("(c) with BatchNorm1d: the same unit's input", WithNorm, Charts.WithNorm);
        Charts.Save(path, 1500, 450, accuracy, without, with);
    }

    private static Plot PercentilePlot(string title, TrainingTrace trace, Color color)
    {
        Plot plot = Charts.NewPlot(title, "training step", "15th, 50th (solid) and 85th percentile");
        double[] xs = Xs(trace);
        Charts.Line(plot, xs, trace.P85.ToArray(), color, "85th percentile", dashed: true);
        Charts.Line(plot, xs, trace.P50.ToArray(), color, "median");
        Charts.Line(plot, xs, trace.P15.ToArray(), color, "15th percentile", dashed: true);
        plot.Axes.Left.Label.FontSize = 12;
        return plot;
    }

    private static double Spread(TrainingTrace trace, int i) => trace.P85[i] - trace.P15[i];

    private static double[] Xs(TrainingTrace trace) => trace.Steps.Select(s => (double)s).ToArray();

    private static string Percent(double value) => value.ToString("P1", CultureInfo.InvariantCulture);

    private static string Number(double value) => value.ToString("F2", CultureInfo.InvariantCulture);

    private static string Step(int? step) => step?.ToString(CultureInfo.InvariantCulture) ?? "never";

    private static string Percentiles(TrainingTrace trace, Index i) =>
        string.Create(CultureInfo.InvariantCulture, $"{trace.P15[i]:F2} / {trace.P50[i]:F2} / {trace.P85[i]:F2}");
}
