using System;
using System.Runtime.InteropServices;
using BatchNorm.Kernels;
using Xunit;

namespace BatchNorm.Tests.Kernels;

/// <summary>
/// The 16-bit conversions done in registers: the pair conversions (<see cref="ISixteenBitFormat{TData}.WidenPairs"/>,
/// <see cref="ISixteenBitFormat{TData}.NarrowPairs"/>) give the scalar conversions' bits for every pattern and every
/// float near a tie, and <see cref="SixteenBitReduction"/> gives the sums <see cref="RunReduction"/> gives on the
/// widened values, bit for bit, for every length 0..100, both reductions, non-finite values and sums already begun.
/// </summary>
public sealed class SixteenBitRegisterTests
{
    [Fact]
    public void HalfPairs_GiveTheScalarBits() => PairsGiveTheScalarBits<Half, HalfBits>();

    [Fact]
    public void BFloat16Pairs_GiveTheScalarBits() => PairsGiveTheScalarBits<BFloat16, BFloat16Bits>();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void HalfRunReduction_IsTheFloatReductionOfTheWidenedValues(bool gradientProducts) =>
        ReductionIsTheFloatOne<Half, HalfBits>(gradientProducts);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BFloat16RunReduction_IsTheFloatReductionOfTheWidenedValues(bool gradientProducts) =>
        ReductionIsTheFloatOne<BFloat16, BFloat16Bits>(gradientProducts);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void HalfColumnReduction_IsTheFloatReductionOfTheWidenedValues(bool gradientProducts) =>
        ColumnReductionIsTheFloatOne<Half, HalfBits>(gradientProducts);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BFloat16ColumnReduction_IsTheFloatReductionOfTheWidenedValues(bool gradientProducts) =>
        ColumnReductionIsTheFloatOne<BFloat16, BFloat16Bits>(gradientProducts);

    private static void PairsGiveTheScalarBits<TData, TFormat>()
        where TData : unmanaged
        where TFormat : ISixteenBitFormat<TData>
    {
        int lanes = System.Numerics.Vector<uint>.Count;
        var pairs = new uint[lanes];
        var even = new float[lanes];
        var odd = new float[lanes];
        for (int p = 0; p <= ushort.MaxValue; p += 2 * lanes)
        {
            for (int i = 0; i < lanes; i++)
            {
                pairs[i] = (uint)(p + (2 * i)) | ((uint)(p + (2 * i) + 1) << 16);
            }

            (System.Numerics.Vector<float> e, System.Numerics.Vector<float> o) = TFormat.WidenPairs(new System.Numerics.Vector<uint>(pairs));
            e.CopyTo(even);
            o.CopyTo(odd);
            for (int i = 0; i < lanes; i++)
            {
                Assert.Equal(Bits(TFormat.ToSingle(Pattern<TData>(p + (2 * i)))), Bits(even[i]));
                Assert.Equal(Bits(TFormat.ToSingle(Pattern<TData>(p + (2 * i) + 1))), Bits(odd[i]));
            }
        }

        // Every float bit pattern's neighbourhood of the 16-bit grid: each pattern widened, plus the offsets around its ties.
        // Then each pattern among zeros of both signs (a ReLU's outputs), every other lane.
        uint[] offsets = [0, 1, 0xFFF, 0x1000, 0x1001, 0x7FFF, 0x8000, 0x8001, 0xFFFF];
        for (int p = 0; p <= 2 * ushort.MaxValue + 1; p++)
        {
            uint wide = Bits(TFormat.ToSingle(Pattern<TData>(p & 0xFFFF)));
            for (int i = 0; i < lanes; i++)
            {
                bool zero = p > ushort.MaxValue && i % 2 == 1;
                even[i] = zero ? (i % 4 == 1 ? 0f : -0f) : BitConverter.UInt32BitsToSingle(wide + offsets[i % offsets.Length]);
                odd[i] = zero ? (i % 4 == 1 ? -0f : 0f) : BitConverter.UInt32BitsToSingle(wide - offsets[(i + 3) % offsets.Length]);
            }

            System.Numerics.Vector<uint> narrow = TFormat.NarrowPairs(new System.Numerics.Vector<float>(even), new System.Numerics.Vector<float>(odd));
            for (int i = 0; i < lanes; i++)
            {
                Assert.True(Raw(TFormat.FromSingle(even[i])) == (narrow[i] & 0xFFFF), $"even 0x{Bits(even[i]):X8}");
                Assert.True(Raw(TFormat.FromSingle(odd[i])) == narrow[i] >> 16, $"odd 0x{Bits(odd[i]):X8}");
            }
        }
    }

    private static unsafe void ReductionIsTheFloatOne<TData, TFormat>(bool gradientProducts)
        where TData : unmanaged
        where TFormat : ISixteenBitFormat<TData>
    {
        const int Most = 100;
        TData[] a = Random<TData, TFormat>(1, Most + 3), b = Random<TData, TFormat>(2, Most + 3);
        float[] wideA = Array.ConvertAll(a, TFormat.ToSingle), wideB = Array.ConvertAll(b, TFormat.ToSingle);
        for (int start = 0; start < 3; start++)
        {
            for (int length = 0; length <= Most; length++)
            {
                LaneSums expected = Begun(length), actual = Begun(length);
                fixed (TData* pa = a, pb = b)
                fixed (float* wa = wideA, wb = wideB)
                {
                    if (gradientProducts)
                    {
                        RunReduction.Accumulate<float, GradientProducts>(wa + start, wb + start, length, 0.375, ref expected);
                        SixteenBitReduction.Accumulate<TData, TFormat, GradientProducts>(pa + start, pb + start, length, 0.375, ref actual);
                    }
                    else
                    {
                        RunReduction.Accumulate<float, ShiftedSquares>(wa + start, wa + start, length, -1.25, ref expected);
                        SixteenBitReduction.Accumulate<TData, TFormat, ShiftedSquares>(pa + start, pa + start, length, -1.25, ref actual);
                    }
                }

                string what = $"start {start}, length {length}";
                Expect.BitwiseEqual<double>(MemoryMarshal.CreateReadOnlySpan(ref expected.First[0], VirtualLanes.Count), MemoryMarshal.CreateReadOnlySpan(ref actual.First[0], VirtualLanes.Count), what);
                Expect.BitwiseEqual<double>(MemoryMarshal.CreateReadOnlySpan(ref expected.Second[0], VirtualLanes.Count), MemoryMarshal.CreateReadOnlySpan(ref actual.Second[0], VirtualLanes.Count), what);
            }
        }
    }

    /// <summary>
    /// Every width 1..70 (whole groups of columns and every tail), 21 rows a stride of width + 5 apart, through the
    /// staging driver (<see cref="Staging{T, TData}.AccumulateColumns{TSums}"/>) against <see cref="ColumnReduction"/>
    /// on the widened rows.
    /// </summary>
    private static unsafe void ColumnReductionIsTheFloatOne<TData, TFormat>(bool gradientProducts)
        where TData : unmanaged
        where TFormat : ISixteenBitFormat<TData>
    {
        const int Rows = 21;
        for (int width = 1; width <= 70; width++)
        {
            int stride = width + 5;
            TData[] a = Random<TData, TFormat>(width, (Rows * stride) + 70), b = Random<TData, TFormat>(width + 1, (Rows * stride) + 70);
            float[] wideA = Array.ConvertAll(a, TFormat.ToSingle), wideB = Array.ConvertAll(b, TFormat.ToSingle);
            double[] constant = new double[width], expectedFirst = new double[width], expectedSecond = new double[width];
            double[] actualFirst = new double[width], actualSecond = new double[width];
            for (int j = 0; j < width; j++)
            {
                constant[j] = (j % 7) * 0.25;
            }

            fixed (TData* pa = a, pb = b)
            fixed (float* wa = wideA, wb = wideB)
            fixed (double* k = constant, ef = expectedFirst, es = expectedSecond, af = actualFirst, @as = actualSecond)
            {
                Staging<float, TData> staging = Staging<float, TData>.ForThread(width);
                if (gradientProducts)
                {
                    ColumnReduction.Accumulate<float, GradientProducts>(new ColumnRows<float>(wa, wb, stride, Rows, width), k, ef, es);
                    staging.AccumulateColumns<GradientProducts>(new ColumnRows<TData>(pa, pb, stride, Rows, width), k, af, @as);
                }
                else
                {
                    ColumnReduction.Accumulate<float, ShiftedSquares>(new ColumnRows<float>(wa, wa, stride, Rows, width), k, ef, es);
                    staging.AccumulateColumns<ShiftedSquares>(new ColumnRows<TData>(pa, pa, stride, Rows, width), k, af, @as);
                }
            }

            Expect.BitwiseEqual<double>(expectedFirst, actualFirst, $"first sums, width {width}");
            Expect.BitwiseEqual<double>(expectedSecond, actualSecond, $"second sums, width {width}");
        }
    }

    /// <summary>Sums as a previous run leaves them: every lane a different value, so a lane moved to another is seen.</summary>
    private static LaneSums Begun(int seed)
    {
        var sums = default(LaneSums);
        for (int lane = 0; lane < VirtualLanes.Count; lane++)
        {
            sums.First[lane] = (seed * 0.001) + lane;
            sums.Second[lane] = 100 + (lane * 0.5);
        }

        return sums;
    }

    /// <summary>Values in [-4, 4) rounded to the format, with a NaN and an infinity among them.</summary>
    private static TData[] Random<TData, TFormat>(int seed, int length)
        where TData : unmanaged
        where TFormat : ISixteenBitFormat<TData>
    {
        var random = new Random(seed);
        var values = new TData[length];
        for (int i = 0; i < length; i++)
        {
            values[i] = TFormat.FromSingle((random.NextSingle() * 8) - 4);
        }

        values[(41 + seed) % length] = TFormat.FromSingle(float.NaN);
        values[(67 + (3 * seed)) % length] = TFormat.FromSingle(float.NegativeInfinity);
        return values;
    }

    private static TData Pattern<TData>(int bits)
        where TData : unmanaged
    {
        ushort raw = (ushort)bits;
        return System.Runtime.CompilerServices.Unsafe.As<ushort, TData>(ref raw);
    }

    private static ushort Raw<TData>(TData value)
        where TData : unmanaged =>
        System.Runtime.CompilerServices.Unsafe.As<TData, ushort>(ref value);

    private static uint Bits(float value) => BitConverter.SingleToUInt32Bits(value);
}
