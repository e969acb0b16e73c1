using System.Numerics;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>
/// <see cref="BFloat16"/>'s conversions lane by lane, the same bits as its scalar ones: widening exact (the bits moved
/// up), narrowing to nearest with ties to even (a NaN kept a quiet NaN).
/// </summary>
internal readonly struct BFloat16Bits : ISixteenBitFormat<BFloat16>
{
    private const uint QuietBit = 0x0040;
    private const uint AbsoluteMask = 0x7FFF_FFFF;
    private const uint Infinity = 0x7F80_0000;

    public static float ToSingle(BFloat16 value) => (float)value;

    public static BFloat16 FromSingle(float value) => (BFloat16)value;

    /// <summary>The float bits of each lane's BFloat16 bits: the bits moved up.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<uint> Widen(Vector<uint> bits) => bits << 16;

    /// <summary>The scalar rule of <see cref="BFloat16"/>'s conversion from float, lane by lane: the result's 16 bits in each lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<uint> Narrow(Vector<uint> bits)
    {
        Vector<uint> rounded = (bits + new Vector<uint>(0x7FFF) + ((bits >> 16) & Vector<uint>.One)) >> 16;
        Vector<uint> quietNaN = (bits >> 16) | new Vector<uint>(QuietBit);
        Vector<uint> isNaN = Vector.GreaterThan(bits & new Vector<uint>(AbsoluteMask), new Vector<uint>(Infinity));
        return Vector.ConditionalSelect(isNaN, quietNaN, rounded);
    }
}
