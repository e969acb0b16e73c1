using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Experiments.Plotting;
using Experiments.Running;
using ScottPlot;

namespace Experiments.SmallBatches;

/// <summary>The test accuracies at every batch size and what they show.</summary>
public sealed class SmallBatchesResult : IExperimentResult
{
    public SmallBatchesResult(SmallBatchesOptions options, IReadOnlyList<BatchSizeOutcome> outcomes)
    {
        Options = options;
        Outcomes = outcomes;
    }

    public SmallBatchesOptions Options { get; }

    public IReadOnlyList<BatchSizeOutcome> Outcomes { get; }

    public BatchSizeOutcome At(int batchSize) => Outcomes.Single(o => o.BatchSize == batchSize);

    public SummaryTable Summary()
    {
        var table = new SummaryTable(
            string.Create(CultureInfo.InvariantCulture, $"BN MLP 64-100x3-10, 8x8 digits, {Options.Epochs} epochs: test accuracy"),
            "batch",
            "lr",
            "running stats",
            "batch stats",
            "precise BN",
            "train",
            "stats error");
        foreach (BatchSizeOutcome o in Outcomes)
        {
            table.Add(
                o.BatchSize.ToString(CultureInfo.InvariantCulture),
                o.LearningRate.ToString("G3", CultureInfo.InvariantCulture),
                Percent(o.RunningStatistics),
                Percent(o.BatchStatistics),
                Percent(o.Recalibrated),
                Percent(o.TrainingBatchAccuracy),
                o.RunningStatisticsError.ToString("F3", CultureInfo.InvariantCulture));
        }

        table.Conclusion = "Small batches open a gap between training and evaluation; recalibrating the statistics (precise BN) closes the part the running averages cause.";
        return table;
    }

    public CsvTable Data()
    {
        var csv = new CsvTable("batch_size", "learning_rate", "test_accuracy_running", "test_accuracy_batch", "test_accuracy_precise_bn", "train_accuracy_last_epoch", "running_statistics_error");
        foreach (BatchSizeOutcome o in Outcomes)
        {
            csv.Add(o.BatchSize, o.LearningRate, o.RunningStatistics, o.BatchStatistics, o.Recalibrated, o.TrainingBatchAccuracy, o.RunningStatisticsError);
        }

        return csv;
    }

    public void SavePicture(string path)
    {
        Plot plot = Charts.NewPlot("Test accuracy against the training batch size", "batch size (log scale)", "test accuracy");
        double[] xs = Outcomes.Select(o => Math.Log2(o.BatchSize)).ToArray();
        Series(plot, xs, o => o.RunningStatistics, Charts.Without, "eval: running statistics");
        Series(plot, xs, o => o.BatchStatistics, Charts.Grey, "batch statistics (test batches of that size)");
        Series(plot, xs, o => o.Recalibrated, Charts.WithNorm, "eval: precise-BN statistics");
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        foreach (BatchSizeOutcome o in Outcomes)
        {
            ticks.AddMajor(Math.Log2(o.BatchSize), o.BatchSize.ToString(CultureInfo.InvariantCulture));
        }

        plot.Axes.Bottom.TickGenerator = ticks;
        Charts.Legend(plot, Alignment.LowerRight);
        Charts.Save(path, 1000, 550, plot);
    }

    private void Series(Plot plot, double[] xs, Func<BatchSizeOutcome, double> value, Color color, string legend)
    {
        double[] ys = Outcomes.Select(value).ToArray();
        Charts.Line(plot, xs, ys, color, legend);
        Charts.Points(plot, xs, ys, color, string.Empty);
    }

    private static string Percent(double value) => value.ToString("P1", CultureInfo.InvariantCulture);
}
