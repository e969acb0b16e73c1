using System;
using System.Globalization;
using System.Threading;
using CsCheck;

namespace BatchNorm.Tests;

/// <summary>
/// How many cases the property and fuzz tests run. By default a CI-sized run (a few seconds in total);
/// <c>BATCHNORM_LONG_PROPERTIES=1</c> multiplies every iteration count by <see cref="LongMultiplier"/>
/// (another positive integer value is taken as the multiplier itself). A failing property prints CsCheck's seed;
/// re-run one case with <c>CsCheck_Seed=&lt;seed&gt;</c> (CsCheck's own switch) to reproduce it.
/// </summary>
internal static class PropertyRuns
{
    /// <summary>The multiplier of <c>BATCHNORM_LONG_PROPERTIES=1</c>: the CI counts add up to ~1,600 property cases, so ×100 is ≥ 100,000.</summary>
    public const int LongMultiplier = 100;

    private static long s_cases;

    public static int Multiplier { get; } = ReadMultiplier();

    public static bool IsLong => Multiplier > 1;

    /// <summary>Property cases run so far in this process (each property body increments it).</summary>
    public static long Cases => Interlocked.Read(ref s_cases);

    public static long Iterations(long ciIterations) => ciIterations * Multiplier;

    public static void Count() => Interlocked.Increment(ref s_cases);

    /// <summary>
    /// Runs <paramref name="property"/> over <paramref name="gen"/> with CsCheck (which shrinks a failure and reports the
    /// seed and the shrunk case in its exception message).
    /// </summary>
    public static void Sample<TCase>(Gen<TCase> gen, Action<TCase> property, long ciIterations, Action<string>? writeLine = null)
        where TCase : notnull
    {
        gen.Sample(
            c =>
            {
                Count();
                property(c);
            },
            writeLine: writeLine,
            iter: Iterations(ciIterations),
            print: c => c.ToString() ?? string.Empty);
    }

    private static int ReadMultiplier()
    {
        string? value = Environment.GetEnvironmentVariable("BATCHNORM_LONG_PROPERTIES");
        if (string.IsNullOrEmpty(value) || value == "0")
        {
            return 1;
        }

        return int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int m) && m > 1 ? m : LongMultiplier;
    }
}
