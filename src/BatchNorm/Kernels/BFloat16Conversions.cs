using System;
using System.Numerics;
using System.Runtime.InteropServices;

namespace BatchNorm.Kernels;

/// <summary>
/// <see cref="BFloat16"/> spans to and from <see cref="float"/>, a vector at a time: the same bits as the scalar
/// conversions of <see cref="BFloat16"/> (widening exact; narrowing to nearest, ties to even, NaN kept NaN) on every
/// vector width. <c>TensorPrimitives.ConvertToSingle</c> and <c>ConvertToHalf</c> do the same for <see cref="Half"/>.
/// </summary>
internal static class BFloat16Conversions
{
    private const uint QuietBit = 0x0040;
    private const uint AbsoluteMask = 0x7FFF_FFFF;
    private const uint Infinity = 0x7F80_0000;

    /// <summary>destination[i] = (float)source[i], exactly.</summary>
    public static void Widen(ReadOnlySpan<BFloat16> source, Span<float> destination)
    {
        Guard.Length<float>(destination, source.Length);
        ReadOnlySpan<ushort> bits = MemoryMarshal.Cast<BFloat16, ushort>(source);
        Span<uint> wide = MemoryMarshal.Cast<float, uint>(destination);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= bits.Length - Vector<ushort>.Count; i += Vector<ushort>.Count)
            {
                Vector.Widen(new Vector<ushort>(bits[i..]), out Vector<uint> low, out Vector<uint> high);
                (low << 16).CopyTo(wide[i..]);
                (high << 16).CopyTo(wide[(i + Vector<uint>.Count)..]);
            }
        }

        for (; i < bits.Length; i++)
        {
            wide[i] = (uint)bits[i] << 16;
        }
    }

    /// <summary>destination[i] = (BFloat16)source[i]: to nearest, ties to even; a NaN stays a (quiet) NaN.</summary>
    public static void Narrow(ReadOnlySpan<float> source, Span<BFloat16> destination)
    {
        Guard.Length<BFloat16>(destination, source.Length);
        ReadOnlySpan<uint> bits = MemoryMarshal.Cast<float, uint>(source);
        Span<ushort> narrow = MemoryMarshal.Cast<BFloat16, ushort>(destination);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= bits.Length - Vector<ushort>.Count; i += Vector<ushort>.Count)
            {
                Vector<uint> low = Round(new Vector<uint>(bits[i..])), high = Round(new Vector<uint>(bits[(i + Vector<uint>.Count)..]));
                Vector.Narrow(low, high).CopyTo(narrow[i..]);
            }
        }

        for (; i < bits.Length; i++)
        {
            narrow[i] = ((BFloat16)BitConverter.UInt32BitsToSingle(bits[i])).RawBits;
        }
    }

    /// <summary>The scalar rule of <see cref="BFloat16"/>'s conversion from float, lane by lane: the result's 16 bits in each lane.</summary>
    private static Vector<uint> Round(Vector<uint> bits)
    {
        Vector<uint> rounded = (bits + new Vector<uint>(0x7FFF) + ((bits >> 16) & Vector<uint>.One)) >> 16;
        Vector<uint> quietNaN = (bits >> 16) | new Vector<uint>(QuietBit);
        Vector<uint> isNaN = Vector.GreaterThan(bits & new Vector<uint>(AbsoluteMask), new Vector<uint>(Infinity));
        return Vector.ConditionalSelect(isNaN, quietNaN, rounded);
    }
}
