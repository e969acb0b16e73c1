using System.Diagnostics;
using System.Globalization;
using System.IO;
using Spectre.Console;

namespace Experiments.Running;

/// <summary>Runs an experiment with a progress display, prints its summary and writes its CSV and PNG files.</summary>
public static class ExperimentRunner
{
    public static IExperimentResult Run(Experiment experiment, bool quick, string outputDirectory, IAnsiConsole console)
    {
        console.WriteLine();
        console.Write(new Rule($"[bold]{Markup.Escape(experiment.Title)}[/]") { Justification = Justify.Left });
        Stopwatch stopwatch = Stopwatch.StartNew();
        IExperimentResult? result = null;
        console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(context => result = experiment.Run(quick, new ExperimentProgress(context)));

        result!.Summary().Render(console);
        (string csv, string png) = WriteFiles(result, experiment.FileStem, outputDirectory);
        console.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"[grey]{stopwatch.Elapsed.TotalSeconds:F1} s; wrote {csv} and {png}[/]");
        return result;
    }

    /// <summary>Writes <c>stem.csv</c> and <c>stem.png</c> into <paramref name="outputDirectory"/> (created if needed).</summary>
    public static (string Csv, string Png) WriteFiles(IExperimentResult result, string stem, string outputDirectory)
    {
        Directory.CreateDirectory(outputDirectory);
        string csv = Path.Combine(outputDirectory, stem + ".csv");
        string png = Path.Combine(outputDirectory, stem + ".png");
        result.Data().Write(csv);
        result.SavePicture(png);
        return (csv, png);
    }
}
