using System;
using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BatchNorm.Kernels;

/// <summary>
/// The element loops over one contiguous run of a channel (one <c>(n, c)</c> row of <c>S</c> values).
/// Reductions accumulate in <see cref="double"/>; <see cref="float"/> data is widened exactly before it is used,
/// so a sum's only roundings are the additions in <see cref="double"/>. Element-wise passes handle the tail
/// with an overlapping last vector, computed before the main loop so that in-place calls stay correct.
/// </summary>
internal static class ChannelOps
{
    /// <summary>sum += Σ(x - shift); sumOfSquares += Σ(x - shift)², in <see cref="double"/>.</summary>
    public static void AddShiftedSums<T>(ReadOnlySpan<T> x, double shift, ref double sum, ref double sumOfSquares)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ref T xr = ref MemoryMarshal.GetReference(x);
        int length = x.Length;
        int i = 0;
        if (Vector.IsHardwareAccelerated && length >= Vector<T>.Count)
        {
            Vector<double> k = new(shift);
            Vector<double> s1 = Vector<double>.Zero, s2 = Vector<double>.Zero;
            for (; i <= length - Vector<T>.Count; i += Vector<T>.Count)
            {
                Widen(Vector.LoadUnsafe(ref xr, (nuint)i), out Vector<double> lo, out Vector<double> hi);
                lo -= k;
                s1 += lo;
                s2 += lo * lo;
                if (typeof(T) == typeof(float))
                {
                    hi -= k;
                    s1 += hi;
                    s2 += hi * hi;
                }
            }

            sum += Vector.Sum(s1);
            sumOfSquares += Vector.Sum(s2);
        }

        for (; i < length; i++)
        {
            double d = double.CreateTruncating(Unsafe.Add(ref xr, i)) - shift;
            sum += d;
            sumOfSquares += d * d;
        }
    }

    /// <summary>sumDy += Σdy; sumDyX += Σdy·(x - center), in <see cref="double"/>.</summary>
    public static void AddGradientSums<T>(ReadOnlySpan<T> dy, ReadOnlySpan<T> x, double center, ref double sumDy, ref double sumDyX)
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
            Vector<double> s1 = Vector<double>.Zero, s2 = Vector<double>.Zero;
            for (; i <= length - Vector<T>.Count; i += Vector<T>.Count)
            {
                Widen(Vector.LoadUnsafe(ref dyr, (nuint)i), out Vector<double> gLo, out Vector<double> gHi);
                Widen(Vector.LoadUnsafe(ref xr, (nuint)i), out Vector<double> xLo, out Vector<double> xHi);
                s1 += gLo;
                s2 += gLo * (xLo - c);
                if (typeof(T) == typeof(float))
                {
                    s1 += gHi;
                    s2 += gHi * (xHi - c);
                }
            }

            sumDy += Vector.Sum(s1);
            sumDyX += Vector.Sum(s2);
        }

        for (; i < length; i++)
        {
            double g = double.CreateTruncating(Unsafe.Add(ref dyr, i));
            sumDy += g;
            sumDyX += g * (double.CreateTruncating(Unsafe.Add(ref xr, i)) - center);
        }
    }

    /// <summary>y = (x - center) * scale + shift</summary>
    public static void Normalize<T>(ReadOnlySpan<T> x, Span<T> y, T center, T scale, T shift)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Debug.Assert(x.Length == y.Length);
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T yr = ref MemoryMarshal.GetReference(y);
        int length = x.Length;
        if (Vector.IsHardwareAccelerated && length >= Vector<T>.Count)
        {
            Vector<T> c = new(center), a = new(scale), b = new(shift);
            nuint last = (nuint)(length - Vector<T>.Count);
            Vector<T> tail = (Vector.LoadUnsafe(ref xr, last) - c) * a + b;
            for (nuint i = 0; i < last; i += (nuint)Vector<T>.Count)
            {
                ((Vector.LoadUnsafe(ref xr, i) - c) * a + b).StoreUnsafe(ref yr, i);
            }

            tail.StoreUnsafe(ref yr, last);
            return;
        }

        for (int i = 0; i < length; i++)
        {
            Unsafe.Add(ref yr, i) = (Unsafe.Add(ref xr, i) - center) * scale + shift;
        }
    }

    /// <summary>dx = dy * a + (x - center) * k + d</summary>
    public static void InputGradient<T>(ReadOnlySpan<T> dy, ReadOnlySpan<T> x, Span<T> dx, T a, T center, T k, T d)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Debug.Assert(dy.Length == x.Length && dx.Length == x.Length);
        ref T dyr = ref MemoryMarshal.GetReference(dy);
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T dxr = ref MemoryMarshal.GetReference(dx);
        int length = x.Length;
        if (Vector.IsHardwareAccelerated && length >= Vector<T>.Count)
        {
            Vector<T> va = new(a), vc = new(center), vk = new(k), vd = new(d);
            nuint last = (nuint)(length - Vector<T>.Count);
            Vector<T> tail = Vector.LoadUnsafe(ref dyr, last) * va + ((Vector.LoadUnsafe(ref xr, last) - vc) * vk + vd);
            for (nuint i = 0; i < last; i += (nuint)Vector<T>.Count)
            {
                (Vector.LoadUnsafe(ref dyr, i) * va + ((Vector.LoadUnsafe(ref xr, i) - vc) * vk + vd)).StoreUnsafe(ref dxr, i);
            }

            tail.StoreUnsafe(ref dxr, last);
            return;
        }

        for (int i = 0; i < length; i++)
        {
            Unsafe.Add(ref dxr, i) = Unsafe.Add(ref dyr, i) * a + ((Unsafe.Add(ref xr, i) - center) * k + d);
        }
    }

    /// <summary>Widens a vector of <typeparamref name="T"/> to <see cref="double"/>: two halves for float, the vector itself for double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Widen<T>(Vector<T> v, out Vector<double> lo, out Vector<double> hi)
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
