using System;
using System.Numerics;
using System.Runtime.InteropServices;
using Xunit;

namespace BatchNorm.Tests;

/// <summary>Assertions on tensors.</summary>
public static class Expect
{
    /// <summary>
    /// Asserts |actual - expected| ≤ tolerance * (|expected| + scale) element-wise: relative, plus an absolute part on
    /// the scale of the terms that were summed, which is at least max |expected| (rounding follows the size of the
    /// terms, not of a cancelled result).
    /// </summary>
    public static void Close<T>(ReadOnlySpan<double> expected, ReadOnlySpan<T> actual, double tolerance, string what, double scale = 0)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Assert.True(expected.Length == actual.Length, $"{what}: expected length {expected.Length}, got {actual.Length}.");
        foreach (double e in expected)
        {
            scale = Math.Max(scale, Math.Abs(e));
        }

        for (int i = 0; i < expected.Length; i++)
        {
            double a = double.CreateTruncating(actual[i]);
            double bound = tolerance * (Math.Abs(expected[i]) + scale);
            if (!(Math.Abs(a - expected[i]) <= bound))
            {
                Assert.Fail($"{what}[{i}]: expected {expected[i]:R}, got {a:R} (error {Math.Abs(a - expected[i]):E3}, bound {bound:E3}, scale {scale:E3}).");
            }
        }
    }

    /// <summary>
    /// Asserts that a result equals a hand-computed value: |actual - expected| ≤ <see cref="Tolerances.For{T}"/> *
    /// max(1, |expected|).
    /// </summary>
    public static void Known<T>(double expected, T actual, string what)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        double value = double.CreateChecked(actual);
        double tolerance = Tolerances.For<T>() * Math.Max(1, Math.Abs(expected));
        Assert.True(
            Math.Abs(value - expected) <= tolerance,
            $"{what}: got {value:R}, expected {expected:R} (tolerance {tolerance:R}).");
    }

    /// <summary>Asserts |actual - expected| ≤ absolute element-wise.</summary>
    public static void CloseAbsolute<T>(ReadOnlySpan<double> expected, ReadOnlySpan<T> actual, double absolute, string what)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Assert.True(expected.Length == actual.Length, $"{what}: expected length {expected.Length}, got {actual.Length}.");
        for (int i = 0; i < expected.Length; i++)
        {
            double a = double.CreateTruncating(actual[i]);
            if (!(Math.Abs(a - expected[i]) <= absolute))
            {
                Assert.Fail($"{what}[{i}]: expected {expected[i]:R}, got {a:R} (error {Math.Abs(a - expected[i]):E3} > {absolute:E3}).");
            }
        }
    }

    /// <summary>Asserts that two tensors are equal bit for bit.</summary>
    public static void BitwiseEqual<T>(ReadOnlySpan<T> expected, ReadOnlySpan<T> actual, string what)
        where T : unmanaged
    {
        Assert.True(expected.Length == actual.Length, $"{what}: expected length {expected.Length}, got {actual.Length}.");
        ReadOnlySpan<byte> e = MemoryMarshal.AsBytes(expected), a = MemoryMarshal.AsBytes(actual);
        if (!e.SequenceEqual(a))
        {
            int size = e.Length / Math.Max(expected.Length, 1);
            int i = e.CommonPrefixLength(a) / size;
            Assert.Fail($"{what}[{i}]: expected {expected[i]}, got {actual[i]} (results differ bit-wise).");
        }
    }
}
