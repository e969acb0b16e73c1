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
    private const uint HalfRoundsToInfinity = 0x477F_F000; // 65,520: halfway from the largest half, 65,504, to 2^16
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

    /// <summary>
    /// <see cref="Widen"/> of the even and odd elements of a vector of pairs. Where no element is infinite or NaN (the
    /// exponents of both halves of a lane are tested at once: all ones carries into the half's top bit), each half is
    /// moved to the top of its lane — odd ones masked in place, even ones shifted up — and widened as a number only:
    /// the magnitude moved to float's places and multiplied by 2^112, the sign kept; else by <see cref="Widen"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector<float> Even, Vector<float> Odd) WidenPairs(Vector<uint> pairs)
    {
        Vector<uint> allOnes = ((pairs & new Vector<uint>(0x7C00_7C00)) + new Vector<uint>(0x0400_0400)) & new Vector<uint>(0x8000_8000);
        if (allOnes != Vector<uint>.Zero)
        {
            return (Vector.AsVectorSingle(Widen(pairs & new Vector<uint>(0xFFFF))), Vector.AsVectorSingle(Widen(pairs >> 16)));
        }

        return (WidenNumber(pairs << 16), WidenNumber(pairs & new Vector<uint>(0xFFFF_0000)));
    }

    /// <summary>
    /// <see cref="Narrow"/> of two vectors into pairs. Where every magnitude is zero or lies in the range that rounds to
    /// a normal half (2^-14 up to just below 65,520, tested at once for both), each is rounded as a number only, zeros
    /// kept zero and the odd ones' results left in the top half of their lanes; else by <see cref="Narrow"/>. (Zeros
    /// count as in range because a fused ReLU's outputs are half zeros: without that its Half forward took 29.7 ms
    /// against 20.7 ms for the plain one, with it 22.5 ms, `16x128x112x112`, one thread; the plain evaluation forward
    /// pays about 7 % for the test, 12.7 against 13.6 ms.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<uint> NarrowPairs(Vector<float> even, Vector<float> odd)
    {
        Vector<uint> e = Vector.AsVectorUInt32(even), o = Vector.AsVectorUInt32(odd);
        Vector<uint> evenSign = e & new Vector<uint>(SignMask), oddSign = o & new Vector<uint>(SignMask);
        Vector<uint> evenMagnitude = e ^ evenSign, oddMagnitude = o ^ oddSign;
        Vector<uint> evenZero = Vector.Equals(evenMagnitude, Vector<uint>.Zero), oddZero = Vector.Equals(oddMagnitude, Vector<uint>.Zero);
        Vector<uint> outside = Vector.AndNot(OutsideNormal(evenMagnitude), evenZero) | Vector.AndNot(OutsideNormal(oddMagnitude), oddZero);
        if (outside != Vector<uint>.Zero)
        {
            return Narrow(e) | (Narrow(o) << 16);
        }

        Vector<uint> low = Vector.AndNot(RoundNormal(evenMagnitude) >> 13, evenZero);
        Vector<uint> high = Vector.AndNot(RoundNormal(oddMagnitude) << 3, oddZero | new Vector<uint>(0xFFFF));
        return low | (evenSign >> 16) | high | oddSign;
    }

    /// <summary>A finite half's bits in the top of each lane (the rest zero) as a float: exact for subnormals too.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> WidenNumber(Vector<uint> top)
    {
        Vector<uint> sign = top & new Vector<uint>(SignMask);
        Vector<float> scaled = Vector.AsVectorSingle((top ^ sign) >> 3) * Vector.AsVectorSingle(new Vector<uint>(Rebias));
        return Vector.AsVectorSingle(Vector.AsVectorUInt32(scaled) | sign);
    }

    /// <summary>
    /// All ones in the lanes whose magnitude bits do not round to a normal half: below 2^-14 or from 65,520 up (which
    /// rounds to infinity), NaN included. One signed compare after moving the range's start to int's minimum.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<uint> OutsideNormal(Vector<uint> magnitude)
    {
        Vector<int> shifted = Vector.AsVectorInt32((magnitude - new Vector<uint>(FloatMinHalfNormal)) ^ new Vector<uint>(SignMask));
        return Vector.AsVectorUInt32(Vector.GreaterThan(shifted, new Vector<int>(unchecked((int)((HalfRoundsToInfinity - FloatMinHalfNormal) ^ SignMask)) - 1)));
    }

    /// <summary>A normal-range magnitude plus half an ulp less one plus its kept last bit, re-biased: the half bits from bit 13 up.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<uint> RoundNormal(Vector<uint> magnitude) =>
        magnitude + new Vector<uint>(unchecked(0xFFF - ExponentBias)) + ((magnitude >> 13) & Vector<uint>.One);
}
