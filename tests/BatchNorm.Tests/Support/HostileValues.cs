using System;
using Xunit;

namespace BatchNorm.Tests;

/// <summary>The hostile arguments the fuzz tests draw from, and what a documented failure is.</summary>
internal static class HostileValues
{
    /// <summary>The most elements a fuzzed tensor has (a longer span is cut to this, plus a few).</summary>
    public const int MaxElements = 3000;

    public static readonly int[] Dimensions =
        [0, 1, 1, 2, 2, 3, 3, 4, 5, 7, 64, 65, 67, -1, -2, int.MinValue, int.MaxValue, 46341, 65536, 1 << 20, 1431655766];

    public static readonly double[] Epsilons = [1e-5, 1e-5, 1e-3, 0, 1, 1e300, double.Epsilon, double.NaN, double.PositiveInfinity, double.NegativeInfinity, -1, -1e-12];

    public static readonly double?[] Momenta = [0.1, 0.1, null, 0, 1, 0.5, double.NaN, double.PositiveInfinity, double.NegativeInfinity, -0.1, 1.5];

    /// <summary>The tolerance of a fuzzed call's results: <see cref="Tolerances.RoundingMargin"/> × <see cref="Tolerances.For{T}"/>.</summary>
    public static double Tolerance<T>() => Tolerances.RoundingMargin * Tolerances.For<T>();

    public static int Dimension(Random random) =>
        random.NextDouble() < 0.75 ? random.Next(0, 6) : Dimensions[random.Next(Dimensions.Length)];

    /// <summary>
    /// Asserts an exception is documented: ArgumentException (including ArgumentOutOfRangeException) or
    /// InvalidOperationException; never NotSupportedException for float or double, never anything else.
    /// </summary>
    public static void AssertDocumented(Exception e, string context)
    {
        bool documented = e is ArgumentException || e is InvalidOperationException;
        Assert.True(documented, $"{context}: undocumented {e.GetType().FullName}: {e.Message}\n{e.StackTrace}");
    }
}
