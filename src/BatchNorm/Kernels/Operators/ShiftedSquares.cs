using System;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>(Σ(a - shift), Σ(a - shift)²): a channel's statistics about a shift, so large means do not cancel.</summary>
internal readonly struct ShiftedSquares : ITwoSums
{
    public static int Streams => 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Add(Vector<double> a, Vector<double> b, Vector<double> constant, ref Vector<double> first, ref Vector<double> second)
    {
        Vector<double> d = a - constant;
        first += d;
        second = Vector.FusedMultiplyAdd(d, d, second);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Add(double a, double b, double constant, ref double first, ref double second)
    {
        double d = a - constant;
        first += d;
        second = Math.FusedMultiplyAdd(d, d, second);
    }
}
