using System;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>
/// The reductions for short runs (<c>S = 1</c> included): over the rows of a segment of <c>width</c> consecutive columns,
/// strips of one or two vectors of columns a few rows at a time, with the accumulators in registers. Each column
/// accumulates in row order whether a lane or the scalar tail handles it, so results do not depend on the vector width.
/// </summary>
internal static unsafe class ColumnReduction
{
    /// <summary>
    /// first[j], second[j] = the <typeparamref name="TSums"/> sums over the rows of column j of <c>a</c> (and <c>b</c>)
    /// about constant[j], for the <c>width</c> columns of <paramref name="rows"/>.
    /// </summary>
    public static void Accumulate<T, TSums>(in ColumnRows<T> rows, double* constant, double* first, double* second)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TSums : ITwoSums
    {
        new Span<double>(first, rows.Width).Clear();
        new Span<double>(second, rows.Width).Clear();
        Add<T, TSums>(rows, constant, first, second);
    }

    /// <summary>
    /// first[j], second[j] += the <typeparamref name="TSums"/> sums over the rows of column j, in row order: rows given in
    /// several calls give the same bits as all of them in one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Add<T, TSums>(in ColumnRows<T> rows, double* constant, double* first, double* second)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TSums : ITwoSums
    {
        int vectorEnd = VectorEnd<T>(rows.Width), blockRows = KernelPlan.RowBlock / TSums.Streams;
        for (int r0 = 0; r0 < rows.Count; r0 += blockRows)
        {
            ColumnRows<T> block = rows.Slice(r0, Math.Min(blockRows, rows.Count - r0));
            for (int j = 0; j < vectorEnd; j += StripWidth<T>())
            {
                // Constant arguments, so each inlined copy of the strip keeps no branch on its width.
                if (vectorEnd - j > Vector<T>.Count)
                {
                    Strip<T, TSums>(block.From(j), true, constant + j, first + j, second + j);
                }
                else
                {
                    Strip<T, TSums>(block.From(j), false, constant + j, first + j, second + j);
                }
            }

            for (int j = vectorEnd; j < rows.Width; j++)
            {
                for (long at = j; at < block.Count * block.Stride; at += block.Stride)
                {
                    TSums.Add(double.CreateTruncating(block.A[at]), double.CreateTruncating(block.B[at]), constant[j], ref first[j], ref second[j]);
                }
            }
        }
    }

    /// <summary>Σ perElement[j * s + e] over e, in order, for channel j of a column-path chunk.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double SumRun(double* perElement, int j, int s)
    {
        double sum = 0;
        for (int e = 0; e < s; e++)
        {
            sum += perElement[j * s + e];
        }

        return sum;
    }

    /// <summary>
    /// <see cref="Accumulate{T, TSums}"/> for the columns of one vector, or two when <paramref name="two"/>, over a block
    /// of rows: the accumulators stay in registers (one to four double vectors each), and each column still adds its rows
    /// in order, exactly as one lane at a time would.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Strip<T, TSums>(in ColumnRows<T> rows, bool two, double* constant, double* first, double* second)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TSums : ITwoSums
    {
        int lanes = DoubleVectors<T>(two), v = Vector<double>.Count;
        Vector<double> k0 = Vector.Load(constant), k1 = Part(constant, 1, lanes), k2 = Part(constant, 2, lanes), k3 = Part(constant, 3, lanes);
        Vector<double> s0 = Vector.Load(first), s1 = Part(first, 1, lanes), s2 = Part(first, 2, lanes), s3 = Part(first, 3, lanes);
        Vector<double> q0 = Vector.Load(second), q1 = Part(second, 1, lanes), q2 = Part(second, 2, lanes), q3 = Part(second, 3, lanes);
        T* a = rows.A, b = rows.B;
        for (int r = 0; r < rows.Count; r++, a += rows.Stride, b += rows.Stride)
        {
            if (typeof(T) == typeof(float))
            {
                Vector<float> fa = Vector.Load((float*)a), fb = Vector.Load((float*)b);
                TSums.Add(Vector.WidenLower(fa), Vector.WidenLower(fb), k0, ref s0, ref q0);
                TSums.Add(Vector.WidenUpper(fa), Vector.WidenUpper(fb), k1, ref s1, ref q1);
                if (two)
                {
                    fa = Vector.Load((float*)a + Vector<float>.Count);
                    fb = Vector.Load((float*)b + Vector<float>.Count);
                    TSums.Add(Vector.WidenLower(fa), Vector.WidenLower(fb), k2, ref s2, ref q2);
                    TSums.Add(Vector.WidenUpper(fa), Vector.WidenUpper(fb), k3, ref s3, ref q3);
                }
            }
            else
            {
                TSums.Add(Vector.Load((double*)a), Vector.Load((double*)b), k0, ref s0, ref q0);
                if (two)
                {
                    TSums.Add(Vector.Load((double*)a + v), Vector.Load((double*)b + v), k1, ref s1, ref q1);
                }
            }
        }

        Store(first, lanes, s0, s1, s2, s3);
        Store(second, lanes, q0, q1, q2, q3);
    }

    /// <summary>How many double vectors the columns of one vector of T (or two) widen to: 1, 2 or 4.</summary>
    private static int DoubleVectors<T>(bool two) => (two ? 2 : 1) * (typeof(T) == typeof(float) ? 2 : 1);

    /// <summary>Double vector <paramref name="i"/> of a strip of <paramref name="lanes"/>, or zeros past its end.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<double> Part(double* p, int i, int lanes) => i < lanes ? Vector.Load(p + i * Vector<double>.Count) : default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(double* p, int lanes, Vector<double> v0, Vector<double> v1, Vector<double> v2, Vector<double> v3)
    {
        int v = Vector<double>.Count;
        Vector.Store(v0, p);
        if (lanes > 1)
        {
            Vector.Store(v1, p + v);
        }

        if (lanes > 2)
        {
            Vector.Store(v2, p + 2 * v);
            Vector.Store(v3, p + 3 * v);
        }
    }

    /// <summary>Where the whole vectors of a row end; reductions do the rest column by column.</summary>
    private static int VectorEnd<T>(int width) =>
        Vector.IsHardwareAccelerated ? width - width % Vector<T>.Count : 0;

    /// <summary>The columns a reduction strip takes: two vectors (the last strip of a row may take one).</summary>
    private static int StripWidth<T>() => 2 * Vector<T>.Count;
}

/// <summary>
/// The rows a column reduction walks: <see cref="Count"/> rows <see cref="Stride"/> elements apart, of <see cref="Width"/>
/// columns, in one tensor (<see cref="A"/>) or two (<see cref="B"/>; the same as <see cref="A"/> for a one-tensor reduction).
/// </summary>
internal readonly unsafe struct ColumnRows<T>(T* a, T* b, long stride, int count, int width)
    where T : unmanaged
{
    public T* A { get; } = a;

    public T* B { get; } = b;

    public long Stride { get; } = stride;

    public int Count { get; } = count;

    public int Width { get; } = width;

    /// <summary>Rows <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/> - 1.</summary>
    public ColumnRows<T> Slice(int first, int count) => new(A + first * Stride, B + first * Stride, Stride, count, Width);

    /// <summary>The same rows from column <paramref name="j"/> on.</summary>
    public ColumnRows<T> From(int j) => new(A + j, B + j, Stride, Count, Width - j);
}
