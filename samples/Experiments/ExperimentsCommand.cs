using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Experiments.FasterTraining;
using Experiments.GradientExplosion;
using Experiments.LengthDirection;
using Experiments.Running;
using Experiments.SmallBatches;
using Experiments.SmootherLoss;
using Spectre.Console;

namespace Experiments;

/// <summary>
/// The program's command line (System.CommandLine): one subcommand per experiment, <c>all</c> (also what no
/// subcommand runs), <c>--quick</c> and <c>--output DIR</c> on each. <c>--help</c> prints the usage and runs nothing; a
/// command line that does not parse is one line on the error writer, exit code 2.
/// </summary>
public static class ExperimentsCommand
{
    /// <summary>The exit code of a command line that does not parse.</summary>
    public const int UsageError = 2;

    /// <summary>Where the CSV and PNG files go without <c>--output</c> (git-ignored).</summary>
    public const string DefaultOutput = "experiments-output";

    /// <summary>The experiments, in the order <c>all</c> runs them.</summary>
    public static IReadOnlyList<Experiment> All { get; } =
    [
        FasterTrainingExperiment.Descriptor,
        SmootherLossExperiment.Descriptor,
        GradientExplosionExperiment.Descriptor,
        LengthDirectionExperiment.Descriptor,
        SmallBatchesExperiment.Descriptor,
    ];

    /// <summary>Parses <paramref name="args"/> and runs the experiments asked for; returns the process exit code.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        Option<bool> quick = new("--quick")
        {
            Description = "Shorter runs (all five in well under two minutes on two cores), for CI; the default is the full runs (a few minutes each)",
            Recursive = true,
        };
        Option<string> outputDirectory = new("--output")
        {
            Description = "The folder for the CSV and PNG files",
            HelpName = "DIR",
            DefaultValueFactory = _ => DefaultOutput,
            Recursive = true,
        };

        RootCommand root = new(
            "The claims about batch norm, measured with BatchNorm1d in small MLPs: each experiment prints its progress and a " +
            "summary table, and writes a CSV of its data and a PNG picture. Without a subcommand, runs them all.")
        {
            quick, outputDirectory,
        };

        Func<ParseResult, int> RunThese(IReadOnlyList<Experiment> experiments) =>
            result => RunAll(experiments, result.GetValue(quick), result.GetValue(outputDirectory)!, output);

        Command all = new("all", "Runs every experiment, in order (the default)");
        all.SetAction(RunThese(All));
        root.Subcommands.Add(all);
        foreach (Experiment experiment in All)
        {
            Command command = new(experiment.Command, experiment.Description);
            command.SetAction(RunThese([experiment]));
            root.Subcommands.Add(command);
        }

        root.SetAction(RunThese(All));
        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            error.WriteLine($"Experiments: {string.Join(" ", parsed.Errors.Select(e => e.Message))} (--help for usage)");
            return UsageError;
        }

        return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
    }

    private static int RunAll(IReadOnlyList<Experiment> experiments, bool quick, string outputDirectory, TextWriter output)
    {
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
        string folder = Path.GetFullPath(outputDirectory);
        console.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"[bold]{experiments.Count} experiment(s), {(quick ? "quick" : "full")} mode[/]; files go to {folder}");
        Stopwatch stopwatch = Stopwatch.StartNew();
        foreach (Experiment experiment in experiments)
        {
            ExperimentRunner.Run(experiment, quick, folder, console);
        }

        console.WriteLine();
        console.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"[bold]done[/] in {stopwatch.Elapsed.TotalSeconds:F1} s");
        return 0;
    }
}
