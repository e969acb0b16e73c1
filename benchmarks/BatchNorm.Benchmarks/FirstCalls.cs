using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Reflection;
using Spectre.Console;

namespace BatchNorm.Benchmarks;

/// <summary>
/// The first-calls mode: what a user's first epoch sees under the runtime's default settings (tiered JIT on). For each
/// operation, shape and thread setting it starts a fresh child process of this program (<see cref="FirstCallsChild"/>)
/// with the parent's environment unchanged, and reports call 1, the median of calls 2–20, the steady state and their
/// ratio in one table.
/// </summary>
public static class FirstCalls
{
    /// <summary>The argument that selects this mode.</summary>
    public const string Flag = "--first-calls";

    /// <summary>Runs the mode with the program's arguments; returns the exit code.</summary>
    public static int Run(string[] args)
    {
        FirstCallsOptions options;
        try
        {
            options = FirstCallsOptions.Parse(args);
        }
        catch (ArgumentException exception)
        {
            Console.Error.WriteLine(exception.Message);
            return 2;
        }

        var rows = new List<FirstCallsRow>();
        int total = Enum.GetValues<LayerOperation>().Length * options.Shapes.Count * options.Threads.Count;
        AnsiConsole.Progress().Start(context =>
        {
            ProgressTask task = context.AddTask("first calls", maxValue: total);
            foreach (LayerOperation operation in Enum.GetValues<LayerOperation>())
            {
                foreach (string shape in options.Shapes)
                {
                    foreach (int threads in options.Threads)
                    {
                        task.Description = $"{FirstCallsRow.Describe(operation)} {shape}, threads {threads}";
                        rows.Add(new FirstCallsRow(operation, shape, threads, RunChild(operation, shape, threads)));
                        task.Increment(1);
                    }
                }
            }
        });
        string csv = FirstCallsReport.Write(rows);
        Console.WriteLine($"Written to {csv}");
        return 0;
    }

    /// <summary>Runs one child process to its end and returns what it measured.</summary>
    private static FirstCallsMeasurement RunChild(LayerOperation operation, string shape, int threads)
    {
        using Process process = Process.Start(ChildStartInfo(operation, shape, threads))
            ?? throw new InvalidOperationException("The first-calls child process did not start.");
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        FirstCallsMeasurement? measurement = FirstCallsMeasurement.Find(output);
        if (process.ExitCode != 0 || measurement is null)
        {
            throw new InvalidOperationException(
                $"The first-calls child for {operation} {shape}, threads {threads} failed (exit code {process.ExitCode}):\n"
                + output + error.Result);
        }

        return measurement;
    }

    /// <summary>
    /// This program again, through the dotnet host when that is what runs it; the environment is left alone, so the
    /// child inherits the parent's unchanged (no <c>DOTNET_</c> setting added).
    /// </summary>
    private static ProcessStartInfo ChildStartInfo(LayerOperation operation, string shape, int threads)
    {
        string program = Environment.ProcessPath ?? throw new InvalidOperationException("The process path is unknown.");
        var start = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (Path.GetFileNameWithoutExtension(program).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            start.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        }

        start.ArgumentList.Add(FirstCallsChild.Flag);
        start.ArgumentList.Add(operation.ToString());
        start.ArgumentList.Add(shape);
        start.ArgumentList.Add(threads.ToString(CultureInfo.InvariantCulture));
        return start;
    }
}
