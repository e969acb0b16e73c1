using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;

namespace Experiments.Running;

/// <summary>A CSV file's columns and rows; numbers in the invariant culture, shortest round-trip form.</summary>
public sealed class CsvTable
{
    private readonly List<string> _rows = [];

    public CsvTable(params string[] header)
    {
        Header = header;
    }

    public IReadOnlyList<string> Header { get; }

    public int RowCount => _rows.Count;

    /// <summary>Adds a row of cells: strings as they are, numbers formatted invariantly ("R" for doubles).</summary>
    public void Add(params object[] cells)
    {
        if (cells.Length != Header.Count)
        {
            throw new ArgumentException($"A row needs {Header.Count} cells, got {cells.Length}.", nameof(cells));
        }

        _rows.Add(string.Join(',', cells.Select(Format)));
    }

    public void Write(string path)
    {
        var text = new StringBuilder();
        text.Append(string.Join(',', Header)).Append('\n');
        foreach (string row in _rows)
        {
            text.Append(row).Append('\n');
        }

        File.WriteAllText(path, text.ToString());
    }

    private static string Format(object cell) => cell switch
    {
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => cell.ToString() ?? string.Empty,
    };
}
