using System;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>
/// <see cref="ColumnReduction"/> on rows of 16-bit data with the widening in registers. A vector of pairs of a row's
/// values holds a group of <c>4v</c> columns (<c>v</c> doubles a vector); it widens to the group's even columns and its
/// odd ones (<see cref="ISixteenBitFormat{TData}.WidenPairs"/>), so the constants and sums are kept in that order —
/// each group's even columns, then its odd ones (<see cref="Deinterleave"/>) — and put back in column order at the end
/// (<see cref="Interleave"/>). Each column still adds its rows in order, so the sums are the bits
/// <see cref="ColumnReduction"/> gives for the widened values.
/// </summary>
internal static unsafe class SixteenBitColumns
{
    /// <summary>Whether <typeparamref name="TData"/> is a 16-bit format this class reduces in registers.</summary>
    public static bool Applies<TData>() =>
        Vector.IsHardwareAccelerated && (typeof(TData) == typeof(Half) || typeof(TData) == typeof(BFloat16));

    /// <summary>The columns a vector of pairs holds.</summary>
    private static int Group => Vector<ushort>.Count;

    /// <summary>
    /// first[j], second[j] += the <typeparamref name="TSums"/> sums over the rows of column j, for constants and sums
    /// in the deinterleaved order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Add<TData, TSums>(in ColumnRows<TData> rows, double* constant, double* first, double* second)
        where TData : unmanaged
        where TSums : ITwoSums
    {
        if (typeof(TData) == typeof(Half))
        {
            Add<Half, HalfBits, TSums>(Reinterpret<TData, Half>(rows), constant, first, second);
        }
        else
        {
            Add<BFloat16, BFloat16Bits, TSums>(Reinterpret<TData, BFloat16>(rows), constant, first, second);
        }
    }

    /// <summary>Each whole group's even columns, then its odd ones; the columns past the last whole group stay in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Deinterleave<TValue>(TValue* source, TValue* destination, int width)
        where TValue : unmanaged
    {
        int end = width - width % Group, half = Group / 2;
        for (int g = 0; g < end; g += Group)
        {
            for (int p = 0; p < half; p++)
            {
                destination[g + p] = source[g + (2 * p)];
                destination[g + half + p] = source[g + (2 * p) + 1];
            }
        }

        new Span<TValue>(source + end, width - end).CopyTo(new Span<TValue>(destination + end, width - end));
    }

    /// <summary>The inverse of <see cref="Deinterleave"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Interleave(double* source, double* destination, int width)
    {
        int end = width - width % Group, half = Group / 2;
        for (int g = 0; g < end; g += Group)
        {
            for (int p = 0; p < half; p++)
            {
                destination[g + (2 * p)] = source[g + p];
                destination[g + (2 * p) + 1] = source[g + half + p];
            }
        }

        new Span<double>(source + end, width - end).CopyTo(new Span<double>(destination + end, width - end));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add<TData, TFormat, TSums>(in ColumnRows<TData> rows, double* constant, double* first, double* second)
        where TData : unmanaged
        where TFormat : ISixteenBitFormat<TData>
        where TSums : ITwoSums
    {
        int end = rows.Width - rows.Width % Group, blockRows = KernelPlan.RowBlock / TSums.Streams;
        for (int r0 = 0; r0 < rows.Count; r0 += blockRows)
        {
            ColumnRows<TData> block = rows.Slice(r0, Math.Min(blockRows, rows.Count - r0));
            for (int j = 0; j < end; j += Group)
            {
                Strip<TData, TFormat, TSums>(block.From(j), constant + j, first + j, second + j);
            }

            for (int j = end; j < rows.Width; j++)
            {
                for (long at = j; at < block.Count * block.Stride; at += block.Stride)
                {
                    TSums.Add(ElementConversions.ToDouble(block.A[at]), ElementConversions.ToDouble(block.B[at]), constant[j], ref first[j], ref second[j]);
                }
            }
        }
    }

    /// <summary>One group of columns over a block of rows, the accumulators in registers: even columns' halves, then odd ones'.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Strip<TData, TFormat, TSums>(in ColumnRows<TData> rows, double* constant, double* first, double* second)
        where TData : unmanaged
        where TFormat : ISixteenBitFormat<TData>
        where TSums : ITwoSums
    {
        int v = Vector<double>.Count;
        Vector<double> k0 = Vector.Load(constant), k1 = Vector.Load(constant + v), k2 = Vector.Load(constant + (2 * v)), k3 = Vector.Load(constant + (3 * v));
        Vector<double> s0 = Vector.Load(first), s1 = Vector.Load(first + v), s2 = Vector.Load(first + (2 * v)), s3 = Vector.Load(first + (3 * v));
        Vector<double> q0 = Vector.Load(second), q1 = Vector.Load(second + v), q2 = Vector.Load(second + (2 * v)), q3 = Vector.Load(second + (3 * v));
        ushort* a = (ushort*)rows.A, b = (ushort*)rows.B;
        for (int r = 0; r < rows.Count; r++, a += rows.Stride, b += rows.Stride)
        {
            (Vector<float> ae, Vector<float> ao, Vector<float> be, Vector<float> bo) = SixteenBitReduction.Pairs<TData, TFormat, TSums>(a, b);
            TSums.Add(Vector.WidenLower(ae), Vector.WidenLower(be), k0, ref s0, ref q0);
            TSums.Add(Vector.WidenUpper(ae), Vector.WidenUpper(be), k1, ref s1, ref q1);
            TSums.Add(Vector.WidenLower(ao), Vector.WidenLower(bo), k2, ref s2, ref q2);
            TSums.Add(Vector.WidenUpper(ao), Vector.WidenUpper(bo), k3, ref s3, ref q3);
        }

        Vector.Store(s0, first);
        Vector.Store(s1, first + v);
        Vector.Store(s2, first + (2 * v));
        Vector.Store(s3, first + (3 * v));
        Vector.Store(q0, second);
        Vector.Store(q1, second + v);
        Vector.Store(q2, second + (2 * v));
        Vector.Store(q3, second + (3 * v));
    }

    private static ColumnRows<TFormatData> Reinterpret<TData, TFormatData>(in ColumnRows<TData> rows)
        where TData : unmanaged
        where TFormatData : unmanaged =>
        new((TFormatData*)rows.A, (TFormatData*)rows.B, rows.Stride, rows.Count, rows.Width);
}
