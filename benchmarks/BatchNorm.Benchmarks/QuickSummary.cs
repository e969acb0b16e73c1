using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using BenchmarkDotNet.Reports;
using Spectre.Console;

namespace BatchNorm.Benchmarks;

/// <summary>
/// The end of a run: one compact table of the four layer operations per shape — the library's time on one thread and
/// on all cores, and how it compares with the naive loop, the TensorPrimitives composition and a copy of the same bytes
/// (one thread each), all from this run — so a reader need not dig through BenchmarkDotNet's log.
/// </summary>
public static class QuickSummary
{
    private static readonly string[] s_operations = [nameof(TrainingForward), nameof(EvalForward), nameof(Backward), nameof(Statistics)];

    public static void Print(IEnumerable<Summary> summaries)
    {
        Dictionary<(string Operation, string Shape, string Method), double> mean = [];
        foreach (BenchmarkReport report in summaries.SelectMany(s => s.Reports))
        {
            if (report.ResultStatistics is { } statistics && report.BenchmarkCase.Parameters["Shape"] is string shape)
            {
                mean[(report.BenchmarkCase.Descriptor.Type.Name, shape, report.BenchmarkCase.Descriptor.WorkloadMethod.Name)] = statistics.Mean;
            }
        }

        var table = new Table()
            .Title("The library, from this run (float)")
            .Caption("speed-up: the naive loop's (or the TensorPrimitives composition's) time ÷ the library's, one thread each; ÷ copy: the library's time ÷ a copy of the same bytes");
        foreach (string column in new[] { "operation", "shape", "1 thread", "all cores", "speed-up, naive", "speed-up, composition", "÷ copy" })
        {
            table.AddColumn(new TableColumn(column).RightAligned());
        }

        foreach (string shape in mean.Keys.Select(k => k.Shape).Distinct())
        {
            foreach (string operation in s_operations)
            {
                double Get(string method) => mean.TryGetValue((operation, shape, method), out double value) ? value : double.NaN;
                double library = Get("Library");
                if (!double.IsNaN(library))
                {
                    table.AddRow(
                        operation, shape, Milliseconds(library), Milliseconds(Get("LibraryAllCores")),
                        Ratio(Get("NaiveLoop") / library), Ratio(Get("TensorPrimitivesComposition") / library), Ratio(library / Get("Copy")));
                }
            }
        }

        if (table.Rows.Count > 0)
        {
            AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 120); // not cut to 80 columns when redirected
            AnsiConsole.Write(table);
        }
    }

    private static string Milliseconds(double nanoseconds) =>
        double.IsNaN(nanoseconds) ? "-" : (nanoseconds / 1e6).ToString("0.00", CultureInfo.InvariantCulture) + " ms";

    private static string Ratio(double ratio) => double.IsNaN(ratio) ? "-" : ratio.ToString("0.00", CultureInfo.InvariantCulture) + "×";
}
