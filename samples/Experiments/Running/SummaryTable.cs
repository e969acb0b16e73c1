using System.Collections.Generic;
using Spectre.Console;

namespace Experiments.Running;

/// <summary>The few numbers that make an experiment's point: a titled table and a one-line conclusion.</summary>
public sealed class SummaryTable
{
    private readonly List<string[]> _rows = [];

    public SummaryTable(string title, params string[] columns)
    {
        Title = title;
        Columns = columns;
    }

    public string Title { get; }

    public IReadOnlyList<string> Columns { get; }

    public IReadOnlyList<string[]> Rows => _rows;

    /// <summary>What the numbers show, in a sentence.</summary>
    public string Conclusion { get; set; } = string.Empty;

    public SummaryTable Add(params string[] cells)
    {
        _rows.Add(cells);
        return this;
    }

    public void Render(IAnsiConsole console)
    {
        var table = new Table { Title = new TableTitle(Markup.Escape(Title)), Border = TableBorder.Rounded };
        for (int c = 0; c < Columns.Count; c++)
        {
            var column = new TableColumn(Markup.Escape(Columns[c]));
            table.AddColumn(c == 0 ? column : column.RightAligned());
        }

        foreach (string[] row in _rows)
        {
            table.AddRow(System.Array.ConvertAll(row, Markup.Escape));
        }

        console.Write(table);
        if (Conclusion.Length > 0)
        {
            console.MarkupLine(Markup.Escape(Conclusion));
        }
    }
}
