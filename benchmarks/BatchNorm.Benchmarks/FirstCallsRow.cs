using System.Globalization;

namespace BatchNorm.Benchmarks;

/// <summary>
/// One row of the first-calls table: what a fresh process measured for one operation, shape and thread setting.
/// </summary>
public sealed record FirstCallsRow(LayerOperation Operation, string Shape, int Threads, FirstCallsMeasurement Measurement)
{
    /// <summary>The column titles, the same in the console table and the CSV file.</summary>
    public static string[] Headers { get; } =
        ["operation", "shape", "threads", "call 1 (ms)", "calls 2–20 (ms)", "steady (ms)", "ratio"];

    /// <summary>The row's cells, in the order of <see cref="Headers"/>.</summary>
    public string[] Cells() =>
    [
        Describe(Operation),
        Shape,
        Threads == -1 ? "all" : Threads.ToString(CultureInfo.InvariantCulture),
        Milliseconds(Measurement.FirstCall),
        Milliseconds(Measurement.Calls2To20),
        Milliseconds(Measurement.Steady),
        Measurement.Ratio.ToString("F2", CultureInfo.InvariantCulture),
    ];

    /// <summary>The operation's name: <c>training forward</c>, <c>eval forward</c> or <c>backward</c>.</summary>
    public static string Describe(LayerOperation operation) => operation switch
    {
        LayerOperation.TrainingForward => "training forward",
        LayerOperation.EvalForward => "eval forward",
        _ => "backward",
    };

    private static string Milliseconds(double value) =>
        value.ToString(value >= 100 ? "F1" : value >= 1 ? "F3" : "F4", CultureInfo.InvariantCulture);
}
