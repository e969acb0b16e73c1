using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Spectre.Console;

namespace BatchNorm.Benchmarks;

/// <summary>
/// Writes the first-calls table to the console and, as CSV, to <c>BenchmarkDotNet.Artifacts/first-calls.csv</c>.
/// </summary>
public static class FirstCallsReport
{
    private const string Folder = "BenchmarkDotNet.Artifacts";
    private const string FileName = "first-calls.csv";

    // A file or pipe has no width; Spectre.Console assumes 80 columns there, which would wrap every row.
    private const int RedirectedWidth = 160;

    /// <summary>Writes both; returns the CSV file's path.</summary>
    public static string Write(IReadOnlyList<FirstCallsRow> rows)
    {
        var table = new Table();
        for (int i = 0; i < FirstCallsRow.Headers.Length; i++)
        {
            var column = new TableColumn(Markup.Escape(FirstCallsRow.Headers[i]));
            table.AddColumn(i < 3 ? column : column.RightAligned());
        }

        foreach (FirstCallsRow row in rows)
        {
            table.AddRow(row.Cells().Select(cell => new Text(cell)));
        }

        if (Console.IsOutputRedirected)
        {
            AnsiConsole.Profile.Width = RedirectedWidth;
        }

        AnsiConsole.Write(table);
        return WriteCsv(rows);
    }

    private static string WriteCsv(IReadOnlyList<FirstCallsRow> rows)
    {
        Directory.CreateDirectory(Folder);
        string path = Path.Combine(Folder, FileName);
        IEnumerable<string> lines = rows.Select(row => string.Join(',', row.Cells()));
        File.WriteAllLines(path, lines.Prepend(string.Join(',', FirstCallsRow.Headers)));
        return Path.GetFullPath(path);
    }
}
