using System;
using System.Collections.Generic;
using BatchNorm.Kernels;
using Xunit;

namespace BatchNorm.Tests.Kernels;

/// <summary>
/// <see cref="SixteenBitConversions{TData, TFormat}"/> with <see cref="HalfBits"/> against .NET's scalar <see cref="Half"/> conversions: widening over all 65,536 bit
/// patterns; narrowing over every half value, the ties halfway to its neighbour and the floats on either side of each tie,
/// subnormals, ±0, overflow, ±∞ and NaN patterns; at every tail length from an odd start.
/// </summary>
public sealed class HalfConversionTests
{
    [Fact]
    public void EveryPattern_WidensToTheScalarBits()
    {
        Half[] patterns = AllPatterns();
        var wide = new float[patterns.Length];
        SixteenBitConversions<Half, HalfBits>.Widen(patterns, wide);
        for (int p = 0; p < patterns.Length; p++)
        {
            uint expected = BitConverter.SingleToUInt32Bits((float)patterns[p]);
            Assert.True(expected == BitConverter.SingleToUInt32Bits(wide[p]), $"0x{p:X4}: expected 0x{expected:X8}, got 0x{BitConverter.SingleToUInt32Bits(wide[p]):X8}");
        }
    }

    [Fact]
    public void EveryValueAndTie_NarrowsToTheScalarBits()
    {
        float[] values = ValuesAndTies();
        var narrow = new Half[values.Length];
        SixteenBitConversions<Half, HalfBits>.Narrow(values, narrow);
        for (int i = 0; i < values.Length; i++)
        {
            ushort expected = BitConverter.HalfToUInt16Bits((Half)values[i]), actual = BitConverter.HalfToUInt16Bits(narrow[i]);
            Assert.True(expected == actual, $"0x{BitConverter.SingleToUInt32Bits(values[i]):X8}: expected 0x{expected:X4}, got 0x{actual:X4}");
        }
    }

    [Fact]
    public void EveryTailLength_GivesTheScalarBits()
    {
        Half[] patterns = AllPatterns();
        float[] values = ValuesAndTies();
        for (int length = 0; length <= 70; length++)
        {
            var wide = new float[length];
            var narrow = new Half[length];
            SixteenBitConversions<Half, HalfBits>.Widen(patterns.AsSpan(0x3C01, length), wide);
            SixteenBitConversions<Half, HalfBits>.Narrow(values.AsSpan(12345, length), narrow);
            for (int i = 0; i < length; i++)
            {
                Assert.Equal(BitConverter.SingleToUInt32Bits((float)patterns[0x3C01 + i]), BitConverter.SingleToUInt32Bits(wide[i]));
                Assert.Equal(BitConverter.HalfToUInt16Bits((Half)values[12345 + i]), BitConverter.HalfToUInt16Bits(narrow[i]));
            }
        }
    }

    [Fact]
    public void LengthsDiffer_ThrowNamingTheDestination()
    {
        Assert.Equal("destination", Assert.Throws<ArgumentException>(() => SixteenBitConversions<Half, HalfBits>.Widen(new Half[3], new float[4])).ParamName);
        Assert.Equal("destination", Assert.Throws<ArgumentException>(() => SixteenBitConversions<Half, HalfBits>.Narrow(new float[3], new Half[2])).ParamName);
    }

    private static Half[] AllPatterns()
    {
        var patterns = new Half[ushort.MaxValue + 1];
        for (int p = 0; p <= ushort.MaxValue; p++)
        {
            patterns[p] = BitConverter.UInt16BitsToHalf((ushort)p);
        }

        return patterns;
    }

    /// <summary>Each half value; the tie between it and the next pattern, and the floats either side of the tie; NaN, ∞ and overflow.</summary>
    private static float[] ValuesAndTies()
    {
        var values = new List<float> { float.NaN, -float.NaN, BitConverter.UInt32BitsToSingle(0x7F80_0001), BitConverter.UInt32BitsToSingle(0xFFBF_FFFF) };
        values.AddRange([float.PositiveInfinity, float.NegativeInfinity, float.MaxValue, -float.MaxValue, 65504f, 65519.99f, 65520f, 65536f, float.Epsilon, -0f, 0f]);
        for (int p = 0; p <= ushort.MaxValue; p++)
        {
            Half h = BitConverter.UInt16BitsToHalf((ushort)p), next = BitConverter.UInt16BitsToHalf((ushort)(p + 1));
            if (!Half.IsFinite(h) || !Half.IsFinite(next) || (p & 0x7FFF) == 0x7FFF)
            {
                continue;
            }

            float value = (float)h, tie = ((float)h + (float)next) / 2;
            values.AddRange([value, tie, MathF.BitDecrement(tie), MathF.BitIncrement(tie)]);
        }

        return values.ToArray();
    }
}
