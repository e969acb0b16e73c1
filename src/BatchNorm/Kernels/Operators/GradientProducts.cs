using System;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>(Σdy, Σdy·(x - center)) with <c>a = dy</c>, <c>b = x</c>: the backward's two reductions.</summary>
internal readonly struct GradientProducts : ITwoSums
{
    public static int Streams => 2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Add(Vector<double> a, Vector<double> b, Vector<double> constant, ref Vector<double> first, ref Vector<double> second)
    {
        first += a;
        second = Vector.FusedMultiplyAdd(a, b - constant, second);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Add(double a, double b, double constant, ref double first, ref double second)
    {
        first += a;
        second = Math.FusedMultiplyAdd(a, b - constant, second);
    }
}
