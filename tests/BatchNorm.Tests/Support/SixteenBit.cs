using System;
using System.Numerics;
using System.Runtime.InteropServices;

namespace BatchNorm.Tests;

/// <summary>
/// The test's own scalar model of 16-bit data: exact widening, and rounding once to nearest (ties to even) from
/// <see cref="double"/> worked out arithmetically (scale by a power of two, <see cref="Math.Round(double, MidpointRounding)"/>),
/// not through the library's conversions.
/// </summary>
public static class SixteenBit
{
    /// <summary>The significand bits of <typeparamref name="TData"/> after the leading one: 10 for Half, 7 for BFloat16.</summary>
    public static int FractionBits<TData>() => typeof(TData) == typeof(Half) ? 10 : 7;

    /// <summary>The relative half-ulp of <typeparamref name="TData"/> (2^-11 for Half, 2^-8 for BFloat16).</summary>
    public static double UnitRoundoff<TData>() => Math.ScaleB(1, -FractionBits<TData>() - 1);

    public static double ToDouble<TData>(TData value)
        where TData : unmanaged =>
        value is Half h ? (double)h : (float)(BFloat16)(object)value;

    /// <summary><paramref name="value"/> rounded once to <typeparamref name="TData"/>.</summary>
    public static TData Round<TData>(double value)
        where TData : unmanaged
    {
        bool half = typeof(TData) == typeof(Half);
        double rounded = RoundToFormat(value, FractionBits<TData>(), half ? -14 : -126, half ? 15 : 127);
        return half ? (TData)(object)(Half)rounded : (TData)(object)(BFloat16)(float)rounded;
    }

    public static TData[] Random<TData>(int seed, int length, double mean = 0, double std = 1)
        where TData : unmanaged
    {
        double[] values = TestData.Gaussian(seed, length, mean, std);
        var data = new TData[length];
        for (int i = 0; i < length; i++)
        {
            data[i] = Round<TData>(values[i]);
        }

        return data;
    }

    public static T[] Widen<TData, T>(ReadOnlySpan<TData> data)
        where TData : unmanaged
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var wide = new T[data.Length];
        for (int i = 0; i < data.Length; i++)
        {
            wide[i] = T.CreateTruncating(ToDouble(data[i]));
        }

        return wide;
    }

    public static TData[] Narrow<T, TData>(ReadOnlySpan<T> values)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged
    {
        var narrow = new TData[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            narrow[i] = Round<TData>(double.CreateTruncating(values[i]));
        }

        return narrow;
    }

    /// <summary>The layer's span Forward for <typeparamref name="TData"/>: <typeparamref name="T"/>, <see cref="Half"/> or <see cref="BFloat16"/>.</summary>
    public static void Forward<T, TData>(BatchNormBase<T> layer, ReadOnlySpan<TData> x, int[] shape, Span<TData> y)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged
    {
        if (typeof(TData) == typeof(T))
        {
            layer.Forward(MemoryMarshal.Cast<TData, T>(x), shape, MemoryMarshal.Cast<TData, T>(y));
        }
        else if (typeof(TData) == typeof(Half))
        {
            layer.Forward(MemoryMarshal.Cast<TData, Half>(x), shape, MemoryMarshal.Cast<TData, Half>(y));
        }
        else
        {
            layer.Forward(MemoryMarshal.Cast<TData, BFloat16>(x), shape, MemoryMarshal.Cast<TData, BFloat16>(y));
        }
    }

    /// <summary>The layer's span Backward for <typeparamref name="TData"/>: <typeparamref name="T"/>, <see cref="Half"/> or <see cref="BFloat16"/>.</summary>
    public static void Backward<T, TData>(BatchNormBase<T> layer, ReadOnlySpan<TData> x, int[] shape, ReadOnlySpan<TData> dy, Span<TData> dx)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged
    {
        if (typeof(TData) == typeof(T))
        {
            layer.Backward(MemoryMarshal.Cast<TData, T>(x), shape, MemoryMarshal.Cast<TData, T>(dy), MemoryMarshal.Cast<TData, T>(dx));
        }
        else if (typeof(TData) == typeof(Half))
        {
            layer.Backward(MemoryMarshal.Cast<TData, Half>(x), shape, MemoryMarshal.Cast<TData, Half>(dy), MemoryMarshal.Cast<TData, Half>(dx));
        }
        else
        {
            layer.Backward(MemoryMarshal.Cast<TData, BFloat16>(x), shape, MemoryMarshal.Cast<TData, BFloat16>(dy), MemoryMarshal.Cast<TData, BFloat16>(dx));
        }
    }

    /// <summary>
    /// <paramref name="value"/> to the nearest number with <paramref name="fractionBits"/> bits after the leading one,
    /// exponents from <paramref name="minExponent"/> (subnormals below) to <paramref name="maxExponent"/> (infinity
    /// above); ties to even; NaN and infinities as they are.
    /// </summary>
    private static double RoundToFormat(double value, int fractionBits, int minExponent, int maxExponent)
    {
        if (!double.IsFinite(value) || value == 0)
        {
            return value;
        }

        int exponent = Math.Max(Math.ILogB(value), minExponent);
        double ulp = Math.ScaleB(1, exponent - fractionBits);
        double rounded = Math.Round(value / ulp, MidpointRounding.ToEven) * ulp;
        double largest = Math.ScaleB(2 - Math.ScaleB(1, -fractionBits), maxExponent);
        return Math.Abs(rounded) > largest ? double.CopySign(double.PositiveInfinity, value) : rounded;
    }
}
