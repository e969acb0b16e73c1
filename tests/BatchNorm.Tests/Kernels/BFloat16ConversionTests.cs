using System;
using System.Collections.Generic;
using System.Globalization;
using BatchNorm.Kernels;
using Xunit;

namespace BatchNorm.Tests.Kernels;

/// <summary>
/// <see cref="BFloat16"/> over all 65,536 bit patterns: widening is exact, and rounding a float (each pattern, the ties
/// just above it, and the floats on either side of each tie) agrees with a scalar reference that picks the nearer
/// neighbour in <see cref="double"/>, ties to even; NaN stays NaN, with its sign; ±0, subnormals and ±∞ included. The
/// span conversions (<see cref="SixteenBitConversions{TData, TFormat}"/> with <see cref="BFloat16Bits"/>) give the scalar bits on every vector width.
/// </summary>
public sealed class BFloat16ConversionTests
{
    /// <summary>Offsets from a pattern's float bits: itself, just above, just below the tie, the tie, just above it, just below the next.</summary>
    private static readonly uint[] s_offsets = [0, 1, 0x7FFF, 0x8000, 0x8001, 0xFFFF];

    [Fact]
    public void EveryPattern_WidensExactly()
    {
        for (int p = 0; p <= ushort.MaxValue; p++)
        {
            float wide = (float)BFloat16.FromRawBits((ushort)p);
            Assert.Equal((uint)p << 16, BitConverter.SingleToUInt32Bits(wide));
        }
    }

    [Fact]
    public void EveryPatternAndTie_RoundsToTheNearest_TiesToEven()
    {
        for (int p = 0; p <= ushort.MaxValue; p++)
        {
            if (IsNaNOrInfinity((ushort)p))
            {
                continue;
            }

            foreach (uint offset in s_offsets)
            {
                float value = BitConverter.UInt32BitsToSingle(((uint)p << 16) + offset);
                ushort expected = Nearest((ushort)p, value);
                ushort actual = ((BFloat16)value).RawBits;
                Assert.True(expected == actual, $"{value.ToString("R", CultureInfo.InvariantCulture)} (bits 0x{BitConverter.SingleToUInt32Bits(value):X8}): expected 0x{expected:X4}, got 0x{actual:X4}");
            }
        }
    }

    [Fact]
    public void EveryNaNPattern_StaysNaN_WithItsSign()
    {
        for (uint high = 0; high <= ushort.MaxValue; high++)
        {
            foreach (uint low in new uint[] { 0, 1, 0xFFFF })
            {
                float value = BitConverter.UInt32BitsToSingle((high << 16) | low);
                if (!float.IsNaN(value))
                {
                    continue;
                }

                var rounded = (BFloat16)value;
                Assert.True(float.IsNaN((float)rounded), $"0x{BitConverter.SingleToUInt32Bits(value):X8} lost its NaN");
                Assert.Equal(high >> 15, (uint)rounded.RawBits >> 15);
            }
        }
    }

    [Fact]
    public void InfinitiesZerosAndLimits_ConvertAsIeeeSays()
    {
        Assert.Equal(0x7F80, ((BFloat16)float.PositiveInfinity).RawBits);
        Assert.Equal(0xFF80, ((BFloat16)float.NegativeInfinity).RawBits);
        Assert.Equal(0x0000, ((BFloat16)0f).RawBits);
        Assert.Equal(0x8000, ((BFloat16)(-0f)).RawBits);
        Assert.Equal(0x7F80, ((BFloat16)float.MaxValue).RawBits);     // beyond the largest bf16 plus half an ulp
        Assert.Equal(0x0000, ((BFloat16)float.Epsilon).RawBits);      // the smallest subnormal float is far below half a bf16 ulp
        Assert.Equal(0x3F80, ((BFloat16)1f).RawBits);
        Assert.Equal(1.5f, (float)(BFloat16)1.5f);
    }

    [Fact]
    public void Equality_IsIeeeForOperators_AndReflexiveForEquals()
    {
        BFloat16 nan = (BFloat16)float.NaN, otherNaN = BFloat16.FromRawBits(0xFFC1), zero = (BFloat16)0f, negativeZero = (BFloat16)(-0f), one = (BFloat16)1f;
        Assert.False(nan == otherNaN);
        Assert.True(nan != otherNaN);
        Assert.True(nan.Equals(otherNaN));
        Assert.True(nan.Equals(nan));
        Assert.True(zero == negativeZero);
        Assert.True(zero.Equals(negativeZero));
        Assert.Equal(zero.GetHashCode(), negativeZero.GetHashCode());
        Assert.False(one == zero);
        Assert.True(one.Equals((object)(BFloat16)1f));
        Assert.False(one.Equals((object)1f));
        Assert.Equal(1.5f.ToString(CultureInfo.CurrentCulture), ((BFloat16)1.5f).ToString());
    }

    [Fact]
    public void Size_IsTwoBytes()
    {
        Assert.Equal(2, System.Runtime.CompilerServices.Unsafe.SizeOf<BFloat16>());
    }

    [Fact]
    public void SpanConversions_GiveTheScalarBits_ForEveryPatternAndTie_AtEveryTailLength()
    {
        var patterns = new BFloat16[ushort.MaxValue + 1];
        var floats = new List<float>();
        for (int p = 0; p <= ushort.MaxValue; p++)
        {
            patterns[p] = BFloat16.FromRawBits((ushort)p);
            foreach (uint offset in s_offsets)
            {
                floats.Add(BitConverter.UInt32BitsToSingle(((uint)p << 16) + offset));
            }
        }

        var wide = new float[patterns.Length];
        SixteenBitConversions<BFloat16, BFloat16Bits>.Widen(patterns, wide);
        float[] values = floats.ToArray();
        var narrow = new BFloat16[values.Length];
        SixteenBitConversions<BFloat16, BFloat16Bits>.Narrow(values, narrow);
        for (int i = 0; i < patterns.Length; i++)
        {
            Assert.Equal(BitConverter.SingleToUInt32Bits((float)patterns[i]), BitConverter.SingleToUInt32Bits(wide[i]));
        }

        for (int i = 0; i < values.Length; i++)
        {
            Assert.True(((BFloat16)values[i]).RawBits == narrow[i].RawBits, $"0x{BitConverter.SingleToUInt32Bits(values[i]):X8}");
        }

        // Every length up to 70 from an odd start: the vector loop, then a scalar tail of each length.
        for (int length = 0; length <= 70; length++)
        {
            var shortWide = new float[length];
            var shortNarrow = new BFloat16[length];
            SixteenBitConversions<BFloat16, BFloat16Bits>.Widen(patterns.AsSpan(0x3F81, length), shortWide);
            SixteenBitConversions<BFloat16, BFloat16Bits>.Narrow(values.AsSpan(12345, length), shortNarrow);
            Expect.BitwiseEqual<float>(wide.AsSpan(0x3F81, length), shortWide, $"widened, length {length}");
            Assert.Equal(narrow.AsSpan(12345, length).ToArray(), shortNarrow);
        }
    }

    [Fact]
    public void SpanConversions_LengthsDiffer_ThrowNamingTheDestination()
    {
        var ex = Assert.Throws<ArgumentException>(() => SixteenBitConversions<BFloat16, BFloat16Bits>.Widen(new BFloat16[3], new float[4]));
        Assert.Equal("destination", ex.ParamName);
        ex = Assert.Throws<ArgumentException>(() => SixteenBitConversions<BFloat16, BFloat16Bits>.Narrow(new float[3], new BFloat16[2]));
        Assert.Equal("destination", ex.ParamName);
    }

    private static bool IsNaNOrInfinity(ushort p) => (p & 0x7F80) == 0x7F80;

    /// <summary>
    /// The reference: of pattern <paramref name="p"/> and the next one away from zero (∞ past the largest finite), the
    /// one nearer to <paramref name="value"/> in <see cref="double"/> (exact: both differences fit a double), ties to the
    /// even pattern.
    /// </summary>
    private static ushort Nearest(ushort p, float value)
    {
        ushort next = (ushort)(p + 1);
        double low = Math.Abs(Value(p)), high = (next & 0x7FFF) == 0x7F80 ? Math.Pow(2, 128) : Math.Abs(Value(next));
        double magnitude = Math.Abs((double)value);
        double toLow = magnitude - low, toHigh = high - magnitude;
        return toLow < toHigh ? p : toHigh < toLow ? next : (p & 1) == 0 ? p : next;
    }

    private static double Value(ushort p) => BitConverter.UInt32BitsToSingle((uint)p << 16);
}
