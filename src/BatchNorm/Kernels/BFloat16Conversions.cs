using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BatchNorm.Kernels;

/// <summary>
/// <see cref="BFloat16"/> spans to and from <see cref="float"/>, a vector at a time: the same bits as the scalar
/// conversions of <see cref="BFloat16"/> (widening exact; narrowing to nearest, ties to even, NaN kept NaN) on every
/// vector width. <see cref="HalfConversions"/> does the same for <see cref="Half"/>.
/// </summary>
internal static unsafe class BFloat16Conversions
{
    private const uint QuietBit = 0x0040;
    private const uint AbsoluteMask = 0x7FFF_FFFF;
    private const uint Infinity = 0x7F80_0000;

    /// <summary>destination[i] = (float)source[i], exactly.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Widen(ReadOnlySpan<BFloat16> source, Span<float> destination)
    {
        Guard.Length<float>(destination, source.Length);
        fixed (BFloat16* s = source)
        fixed (float* d = destination)
        {
            Widen(s, d, source.Length);
        }
    }

    /// <summary>destination[i] = (BFloat16)source[i]: to nearest, ties to even; a NaN stays a (quiet) NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Narrow(ReadOnlySpan<float> source, Span<BFloat16> destination)
    {
        Guard.Length<BFloat16>(destination, source.Length);
        fixed (float* s = source)
        fixed (BFloat16* d = destination)
        {
            Narrow(s, d, source.Length);
        }
    }

    /// <inheritdoc cref="Widen(ReadOnlySpan{BFloat16}, Span{float})"/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Widen(BFloat16* source, float* destination, int count)
    {
        ushort* bits = (ushort*)source;
        uint* wide = (uint*)destination;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= count - Vector<ushort>.Count; i += Vector<ushort>.Count)
            {
                Vector.Widen(Vector.Load(bits + i), out Vector<uint> low, out Vector<uint> high);
                Vector.Store(low << 16, wide + i);
                Vector.Store(high << 16, wide + i + Vector<uint>.Count);
            }
        }

        for (; i < count; i++)
        {
            wide[i] = (uint)bits[i] << 16;
        }
    }

    /// <inheritdoc cref="Narrow(ReadOnlySpan{float}, Span{BFloat16})"/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Narrow(float* source, BFloat16* destination, int count)
    {
        uint* bits = (uint*)source;
        ushort* narrow = (ushort*)destination;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= count - Vector<ushort>.Count; i += Vector<ushort>.Count)
            {
                Vector<uint> low = Round(Vector.Load(bits + i)), high = Round(Vector.Load(bits + i + Vector<uint>.Count));
                Vector.Store(Vector.Narrow(low, high), narrow + i);
            }
        }

        for (; i < count; i++)
        {
            destination[i] = (BFloat16)source[i];
        }
    }

    /// <summary>The scalar rule of <see cref="BFloat16"/>'s conversion from float, lane by lane: the result's 16 bits in each lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<uint> Round(Vector<uint> bits)
    {
        Vector<uint> rounded = (bits + new Vector<uint>(0x7FFF) + ((bits >> 16) & Vector<uint>.One)) >> 16;
        Vector<uint> quietNaN = (bits >> 16) | new Vector<uint>(QuietBit);
        Vector<uint> isNaN = Vector.GreaterThan(bits & new Vector<uint>(AbsoluteMask), new Vector<uint>(Infinity));
        return Vector.ConditionalSelect(isNaN, quietNaN, rounded);
    }
}
