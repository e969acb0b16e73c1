using System;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>A 16-bit float format's conversions to and from float, scalar and lane by lane (its bits in 32-bit lanes).</summary>
internal interface ISixteenBitFormat<TData>
    where TData : unmanaged
{
    static abstract float ToSingle(TData value);

    static abstract TData FromSingle(float value);

    /// <summary>The float bits of each lane's 16 bits.</summary>
    static abstract Vector<uint> Widen(Vector<uint> bits);

    /// <summary>The 16 bits, in the low half of each lane, of each lane's float bits rounded once.</summary>
    static abstract Vector<uint> Narrow(Vector<uint> bits);

    /// <summary>
    /// A vector of pairs of 16-bit values (two elements a 32-bit lane, in memory order) as two float vectors: the
    /// even-indexed elements and the odd-indexed ones. No lane crosses a vector, so no shuffle is needed on any width.
    /// </summary>
    static abstract (Vector<float> Even, Vector<float> Odd) WidenPairs(Vector<uint> pairs);

    /// <summary>The inverse layout of <see cref="WidenPairs"/>: each element rounded once and stored back in its pair.</summary>
    static abstract Vector<uint> NarrowPairs(Vector<float> even, Vector<float> odd);
}

/// <summary>
/// Spans of a 16-bit format (<see cref="HalfBits"/>, <see cref="BFloat16Bits"/>) to and from <see cref="float"/>, a
/// vector at a time, then element by element: the scalar conversions' bits on every vector width.
/// </summary>
internal static unsafe class SixteenBitConversions<TData, TFormat>
    where TData : unmanaged
    where TFormat : ISixteenBitFormat<TData>
{
    /// <summary>destination[i] = (float)source[i], exactly.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Widen(ReadOnlySpan<TData> source, Span<float> destination)
    {
        Guard.Length<float>(destination, source.Length);
        fixed (TData* s = source)
        fixed (float* d = destination)
        {
            Widen(s, d, source.Length);
        }
    }

    /// <summary>destination[i] = source[i] rounded once to the 16-bit format: to nearest, ties to even.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Narrow(ReadOnlySpan<float> source, Span<TData> destination)
    {
        Guard.Length<TData>(destination, source.Length);
        fixed (float* s = source)
        fixed (TData* d = destination)
        {
            Narrow(s, d, source.Length);
        }
    }

    /// <inheritdoc cref="Widen(ReadOnlySpan{TData}, Span{float})"/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Widen(TData* source, float* destination, int count)
    {
        ushort* bits = (ushort*)source;
        uint* wide = (uint*)destination;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= count - Vector<ushort>.Count; i += Vector<ushort>.Count)
            {
                Vector.Widen(Vector.Load(bits + i), out Vector<uint> low, out Vector<uint> high);
                Vector.Store(TFormat.Widen(low), wide + i);
                Vector.Store(TFormat.Widen(high), wide + i + Vector<uint>.Count);
            }
        }

        for (; i < count; i++)
        {
            destination[i] = TFormat.ToSingle(source[i]);
        }
    }

    /// <inheritdoc cref="Narrow(ReadOnlySpan{float}, Span{TData})"/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Narrow(float* source, TData* destination, int count)
    {
        uint* bits = (uint*)source;
        ushort* narrow = (ushort*)destination;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= count - Vector<ushort>.Count; i += Vector<ushort>.Count)
            {
                Vector<uint> low = TFormat.Narrow(Vector.Load(bits + i)), high = TFormat.Narrow(Vector.Load(bits + i + Vector<uint>.Count));
                Vector.Store(Vector.Narrow(low, high), narrow + i);
            }
        }

        for (; i < count; i++)
        {
            destination[i] = TFormat.FromSingle(source[i]);
        }
    }
}
