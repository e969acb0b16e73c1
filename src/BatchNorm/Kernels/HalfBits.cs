using System;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>
/// <see cref="Half"/>'s conversions lane by lane, the same bits as .NET's scalar ones: widening exact (a NaN made quiet
/// with its payload), narrowing to nearest with ties to even (a NaN quiet with the top of its payload).
/// <c>TensorPrimitives.ConvertToSingle</c> and <c>ConvertToHalf</c> took 2.5 ns an element here (System.Numerics.Tensors
/// 10.0.15, one thread of the reference machine): element by element, 25 times the time of the passes they would serve.
/// </summary>
internal readonly struct HalfBits : ISixteenBitFormat<Half>
{
    private const uint SignMask = 0x8000_0000;
    private const uint HalfExponentMask = 0x7C00;
    private const int HalfInfinity = 0x7C00;
    private const int HalfMaxFinite = 0x7BFF;
    private const uint Rebias = (127 + 112) << 23; // the float bits of 2^112 = 2^(127 - 15)
    private const uint ExponentBias = (127 - 15) << 23;
    private const uint FloatQuietBit = 0x0040_0000;
    private const uint FloatInfinity = 0x7F80_0000;
    private const uint HalfOverflow = (127 + 16) << 23;
    private const uint FloatMinHalfNormal = (127 - 14) << 23;
    private const uint DenormalMagic = ((127 - 15) + (23 - 10) + 1) << 23;

    public static float ToSingle(Half value) => (float)value;

    public static Half FromSingle(float value) => (Half)value;

    /// <summary>
    /// The float bits of each lane's half bits: the exponent and fraction moved to float's places and multiplied by
    /// 2^112, which re-biases normal numbers and normalizes subnormal ones exactly; infinity and NaN then get float's
    /// all-ones exponent, and a NaN its quiet bit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<uint> Widen(Vector<uint> half)
    {
        Vector<int> magnitude = Vector.AsVectorInt32(half & new Vector<uint>(0x7FFF));
        Vector<float> scaled = Vector.AsVectorSingle(magnitude << 13) * Vector.AsVectorSingle(new Vector<uint>(Rebias));
        Vector<uint> special = Vector.AsVectorUInt32(Vector.GreaterThan(magnitude, new Vector<int>(HalfMaxFinite))) & new Vector<uint>(FloatInfinity);
        Vector<uint> quiet = Vector.AsVectorUInt32(Vector.GreaterThan(magnitude, new Vector<int>(HalfInfinity))) & new Vector<uint>(FloatQuietBit);
        return Vector.AsVectorUInt32(scaled) | special | quiet | ((half & new Vector<uint>(0x8000)) << 16);
    }

    /// <summary>
    /// The half bits (in the low 16 bits of each lane) of each lane's float bits: normal results rounded by adding half an
    /// ulp less one plus the kept last bit, subnormal ones by a float addition that aligns them, overflow to infinity, a NaN
    /// quiet with the top of its payload.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<uint> Narrow(Vector<uint> single)
    {
        // The magnitude's sign bit is clear, so signed compares order it as unsigned ones would (AVX2 has no unsigned compare).
        Vector<uint> magnitude = single & new Vector<uint>(~SignMask);
        Vector<int> signed = Vector.AsVectorInt32(magnitude);
        Vector<uint> odd = (magnitude >> 13) & Vector<uint>.One;
        Vector<uint> normal = (magnitude + new Vector<uint>(unchecked(0xFFF - ExponentBias)) + odd) >> 13;
        Vector<float> aligned = Vector.AsVectorSingle(magnitude) + Vector.AsVectorSingle(new Vector<uint>(DenormalMagic));
        Vector<uint> subnormal = Vector.AsVectorUInt32(aligned) - new Vector<uint>(DenormalMagic);
        Vector<uint> nan = new Vector<uint>(0x7E00) | ((magnitude & new Vector<uint>(0x007F_FFFF)) >> 13);
        Vector<uint> overflow = Vector.ConditionalSelect(
            Vector.AsVectorUInt32(Vector.GreaterThan(signed, new Vector<int>((int)FloatInfinity))), nan, new Vector<uint>(HalfExponentMask));
        Vector<uint> result = Vector.ConditionalSelect(Vector.AsVectorUInt32(Vector.LessThan(signed, new Vector<int>((int)FloatMinHalfNormal))), subnormal, normal);
        result = Vector.ConditionalSelect(Vector.AsVectorUInt32(Vector.GreaterThan(signed, new Vector<int>((int)HalfOverflow - 1))), overflow, result);
        return result | ((single & new Vector<uint>(SignMask)) >> 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector<float> Even, Vector<float> Odd) WidenPairs(Vector<uint> pairs) =>
        (Vector.AsVectorSingle(Widen(pairs & new Vector<uint>(0xFFFF))), Vector.AsVectorSingle(Widen(pairs >> 16)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<uint> NarrowPairs(Vector<float> even, Vector<float> odd) =>
        Narrow(Vector.AsVectorUInt32(even)) | (Narrow(Vector.AsVectorUInt32(odd)) << 16);
}
