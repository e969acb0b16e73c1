using System;
using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BatchNorm.Kernels;

/// <summary>
/// Two running sums: vector partial sums (two lanes sets each, for the two halves of a widened float vector, which
/// also halves the dependency chains) plus scalar tails, combined once at the end.
/// </summary>
internal struct Sums
{
    public Vector<double> Vector1;
    public Vector<double> Vector1B;
    public Vector<double> Vector2;
    public Vector<double> Vector2B;
    public double Scalar1;
    public double Scalar2;

    public readonly double Total1 => Vector.Sum(Vector1 + Vector1B) + Scalar1;

    public readonly double Total2 => Vector.Sum(Vector2 + Vector2B) + Scalar2;
}

/// <summary>
/// The reductions over one contiguous run of a channel (<c>S</c> values of one <c>(n, c)</c> pair). They accumulate in
/// <see cref="double"/>: <see cref="float"/> data is widened exactly before use and squares and products are fused into
/// their additions, so a sum's only roundings are its additions. (The element-wise passes are <see cref="ElementOps"/>.)
/// </summary>
internal static class ChannelOps
{
    /// <summary>sums += (Σ(x - shift), Σ(x - shift)²)</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddShiftedSums<T>(ReadOnlySpan<T> x, double shift, ref Sums sums)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ref T xr = ref MemoryMarshal.GetReference(x);
        int length = x.Length;
        int i = 0;
        if (Vector.IsHardwareAccelerated && length >= Vector<T>.Count)
        {
            // Accumulate in registers, not in the caller's memory.
            Vector<double> k = new(shift);
            Vector<double> s1 = sums.Vector1, s1b = sums.Vector1B, s2 = sums.Vector2, s2b = sums.Vector2B;
            for (; i <= length - Vector<T>.Count; i += Vector<T>.Count)
            {
                Widen(Vector.LoadUnsafe(ref xr, (nuint)i), out Vector<double> lo, out Vector<double> hi);
                lo -= k;
                s1 += lo;
                s2 = Vector.FusedMultiplyAdd(lo, lo, s2);
                if (typeof(T) == typeof(float))
                {
                    hi -= k;
                    s1b += hi;
                    s2b = Vector.FusedMultiplyAdd(hi, hi, s2b);
                }
            }

            sums.Vector1 = s1;
            sums.Vector1B = s1b;
            sums.Vector2 = s2;
            sums.Vector2B = s2b;
        }

        for (; i < length; i++)
        {
            double d = double.CreateTruncating(Unsafe.Add(ref xr, i)) - shift;
            sums.Scalar1 += d;
            sums.Scalar2 = Math.FusedMultiplyAdd(d, d, sums.Scalar2);
        }
    }

    /// <summary>sums += (Σdy, Σdy·(x - center))</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddGradientSums<T>(ReadOnlySpan<T> dy, ReadOnlySpan<T> x, double center, ref Sums sums)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Debug.Assert(dy.Length == x.Length);
        ref T dyr = ref MemoryMarshal.GetReference(dy);
        ref T xr = ref MemoryMarshal.GetReference(x);
        int length = x.Length;
        int i = 0;
        if (Vector.IsHardwareAccelerated && length >= Vector<T>.Count)
        {
            Vector<double> c = new(center);
            Vector<double> s1 = sums.Vector1, s1b = sums.Vector1B, s2 = sums.Vector2, s2b = sums.Vector2B;
            for (; i <= length - Vector<T>.Count; i += Vector<T>.Count)
            {
                Widen(Vector.LoadUnsafe(ref dyr, (nuint)i), out Vector<double> gLo, out Vector<double> gHi);
                Widen(Vector.LoadUnsafe(ref xr, (nuint)i), out Vector<double> xLo, out Vector<double> xHi);
                s1 += gLo;
                s2 = Vector.FusedMultiplyAdd(gLo, xLo - c, s2);
                if (typeof(T) == typeof(float))
                {
                    s1b += gHi;
                    s2b = Vector.FusedMultiplyAdd(gHi, xHi - c, s2b);
                }
            }

            sums.Vector1 = s1;
            sums.Vector1B = s1b;
            sums.Vector2 = s2;
            sums.Vector2B = s2b;
        }

        for (; i < length; i++)
        {
            double g = double.CreateTruncating(Unsafe.Add(ref dyr, i));
            sums.Scalar1 += g;
            sums.Scalar2 = Math.FusedMultiplyAdd(g, double.CreateTruncating(Unsafe.Add(ref xr, i)) - center, sums.Scalar2);
        }
    }

    /// <summary>Widens a vector to <see cref="double"/>: two halves for float; for double, the vector itself.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Widen<T>(Vector<T> v, out Vector<double> lo, out Vector<double> hi)
        where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            Vector.Widen(v.As<T, float>(), out lo, out hi);
        }
        else
        {
            lo = v.As<T, double>();
            hi = default;
        }
    }
}
