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
    public static Vector<uint> Narrow(Vector<uint> bits) => Round(bits) >> 16;

    /// <summary>The even elements moved up, the odd ones masked in place: two operations for 16 elements on AVX2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector<float> Even, Vector<float> Odd) WidenPairs(Vector<uint> pairs) =>
        (Vector.AsVectorSingle(pairs << 16), Vector.AsVectorSingle(pairs & new Vector<uint>(0xFFFF_0000)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<uint> NarrowPairs(Vector<float> even, Vector<float> odd) =>
        (Round(Vector.AsVectorUInt32(even)) >> 16) | (Round(Vector.AsVectorUInt32(odd)) & new Vector<uint>(0xFFFF_0000));

    /// <summary>
    /// Each lane's float bits with the result in the upper half: a number plus half an ulp less one plus its kept last
    /// bit (carrying into the exponent where it rounds up to the next binade or to infinity); a NaN its upper half made
    /// quiet, as a plain addition could carry a NaN's payload into its sign.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<uint> Round(Vector<uint> bits)
    {
        Vector<uint> rounded = bits + new Vector<uint>(0x7FFF) + ((bits >> 16) & Vector<uint>.One);
        Vector<uint> quietNaN = bits | new Vector<uint>(QuietBit << 16);
        // The magnitude's sign bit is clear, so a signed compare orders it (AVX2 has no unsigned one).
        Vector<int> magnitude = Vector.AsVectorInt32(bits & new Vector<uint>(AbsoluteMask));
        Vector<uint> isNaN = Vector.AsVectorUInt32(Vector.GreaterThan(magnitude, new Vector<int>((int)Infinity)));
        return Vector.ConditionalSelect(isNaN, quietNaN, rounded);
    }
}
