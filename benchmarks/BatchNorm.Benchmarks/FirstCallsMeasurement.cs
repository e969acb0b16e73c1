using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace BatchNorm.Benchmarks;

/// <summary>
/// What one first-calls child measured, in milliseconds: its first call, the median of calls 2–20, and the steady state
/// (the median of the last 20 % of calls). The child sends it to the parent as one line of text.
/// </summary>
public sealed record FirstCallsMeasurement(double FirstCall, double Calls2To20, double Steady, int Calls)
{
    private const string Marker = "first-calls-result";

    /// <summary>How many times slower calls 2–20 are than the steady state.</summary>
    public double Ratio => Calls2To20 / Steady;

    /// <summary>The measurement of a series of call times (milliseconds, in call order; at least 20 calls).</summary>
    public static FirstCallsMeasurement FromTimes(IReadOnlyList<double> times)
    {
        int tail = Math.Max(1, times.Count / 5);
        return new FirstCallsMeasurement(
            times[0], Median(times.Skip(1).Take(19)), Median(times.Skip(times.Count - tail)), times.Count);
    }

    /// <summary>The line the child writes to its standard output.</summary>
    public string ToLine() =>
        string.Create(CultureInfo.InvariantCulture, $"{Marker} {FirstCall:R} {Calls2To20:R} {Steady:R} {Calls}");

    /// <summary>The measurement in a child's standard output, or <see langword="null"/> when there is none.</summary>
    public static FirstCallsMeasurement? Find(string output)
    {
        string? line = output.Split('\n')
            .Select(l => l.Trim())
            .LastOrDefault(l => l.StartsWith(Marker + " ", StringComparison.Ordinal));
        if (line is null)
        {
            return null;
        }

        string[] parts = line.Split(' ');
        return new FirstCallsMeasurement(
            double.Parse(parts[1], CultureInfo.InvariantCulture),
            double.Parse(parts[2], CultureInfo.InvariantCulture),
            double.Parse(parts[3], CultureInfo.InvariantCulture),
            int.Parse(parts[4], CultureInfo.InvariantCulture));
    }

    private static double Median(IEnumerable<double> values)
    {
        double[] sorted = values.Order().ToArray();
        int middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}
