using System;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>
/// The loops for short runs (<c>S = 1</c> included, <c>(M, C)</c> with a row's channels contiguous): each walks the
/// rows of a segment of <c>width</c> consecutive columns. Reductions take strips of one or two vectors of columns a few
/// rows at a time, with the accumulators in registers; element loops load each vector of per-column constants once per
/// group of rows. Each column accumulates in row order whether a lane or the scalar tail handles it, so results do not
/// depend on the SIMD width.
/// </summary>
internal static unsafe class ColumnOps
{
    /// <summary>
    /// The rows (times the tensors read) a reduction strip walks with its accumulators in registers before it stores
    /// them and the next strip takes the same rows: so few that the rows stream side by side (a long column walk would
    /// thrash L1 sets whenever the row stride is a multiple of 4 KB).
    /// </summary>
    private const int RowBlock = 8;

    /// <summary>The rows an element loop takes per vector of columns (see <see cref="ApplyRows{T, TOperator}"/>).</summary>
    private const int RowGroup = 4;

    /// <summary>sum[j] = Σ(x[r, j] - shift[j]); sumOfSquares[j] = Σ(x[r, j] - shift[j])²</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ShiftedSums<T>(T* x, long stride, int rows, int width, double* shift, double* sum, double* sumOfSquares)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        new Span<double>(sum, width).Clear();
        new Span<double>(sumOfSquares, width).Clear();
        int vectorEnd = VectorEnd<T>(width), blockRows = RowBlock;
        for (int r0 = 0; r0 < rows; r0 += blockRows)
        {
            int count = Math.Min(blockRows, rows - r0);
            T* block = x + r0 * stride;
            for (int j = 0; j < vectorEnd; j += StripWidth<T>())
            {
                // Constant arguments, so each inlined copy of the strip keeps no branch on its width.
                if (vectorEnd - j > Vector<T>.Count)
                {
                    ShiftedSumsStrip(block + j, stride, count, true, shift + j, sum + j, sumOfSquares + j);
                }
                else
                {
                    ShiftedSumsStrip(block + j, stride, count, false, shift + j, sum + j, sumOfSquares + j);
                }
            }

            for (int j = vectorEnd; j < width; j++)
            {
                for (int r = 0; r < count; r++)
                {
                    double d = double.CreateTruncating(block[r * stride + j]) - shift[j];
                    sum[j] += d;
                    sumOfSquares[j] = Math.FusedMultiplyAdd(d, d, sumOfSquares[j]);
                }
            }
        }
    }

    /// <summary>sumDy[j] = Σdy[r, j]; sumDyX[j] = Σdy[r, j]·(x[r, j] - center[j])</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GradientSums<T>(T* dy, T* x, long stride, int rows, int width, double* center, double* sumDy, double* sumDyX)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        new Span<double>(sumDy, width).Clear();
        new Span<double>(sumDyX, width).Clear();
        int vectorEnd = VectorEnd<T>(width), blockRows = RowBlock / 2;
        for (int r0 = 0; r0 < rows; r0 += blockRows)
        {
            int count = Math.Min(blockRows, rows - r0);
            long first = r0 * stride;
            for (int j = 0; j < vectorEnd; j += StripWidth<T>())
            {
                if (vectorEnd - j > Vector<T>.Count)
                {
                    GradientSumsStrip(dy + first + j, x + first + j, stride, count, true, center + j, sumDy + j, sumDyX + j);
                }
                else
                {
                    GradientSumsStrip(dy + first + j, x + first + j, stride, count, false, center + j, sumDy + j, sumDyX + j);
                }
            }

            for (int j = vectorEnd; j < width; j++)
            {
                for (long at = first + j; at < first + count * stride; at += stride)
                {
                    double g = double.CreateTruncating(dy[at]);
                    sumDy[j] += g;
                    sumDyX[j] = Math.FusedMultiplyAdd(g, double.CreateTruncating(x[at]) - center[j], sumDyX[j]);
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
    /// <see cref="ShiftedSums{T}"/> for the columns of one vector, or two when <paramref name="two"/>, over a block of
    /// rows: the accumulators stay in registers (one to four double vectors each), and each column still adds its rows
    /// in order, exactly as one lane at a time would.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ShiftedSumsStrip<T>(T* x, long stride, int rows, bool two, double* shift, double* sum, double* sumOfSquares)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int lanes = DoubleVectors<T>(two), v = Vector<double>.Count;
        Vector<double> k0 = Vector.Load(shift), k1 = Part(shift, 1, lanes), k2 = Part(shift, 2, lanes), k3 = Part(shift, 3, lanes);
        Vector<double> s0 = Vector.Load(sum), s1 = Part(sum, 1, lanes), s2 = Part(sum, 2, lanes), s3 = Part(sum, 3, lanes);
        Vector<double> q0 = Vector.Load(sumOfSquares), q1 = Part(sumOfSquares, 1, lanes), q2 = Part(sumOfSquares, 2, lanes), q3 = Part(sumOfSquares, 3, lanes);
        for (int r = 0; r < rows; r++, x += stride)
        {
            if (typeof(T) == typeof(float))
            {
                Vector.Widen(Vector.Load((float*)x), out Vector<double> a, out Vector<double> b);
                (a, b) = (a - k0, b - k1);
                (s0, q0, s1, q1) = (s0 + a, Fma(a, a, q0), s1 + b, Fma(b, b, q1));
                if (two)
                {
                    Vector.Widen(Vector.Load((float*)x + Vector<float>.Count), out a, out b);
                    (a, b) = (a - k2, b - k3);
                    (s2, q2, s3, q3) = (s2 + a, Fma(a, a, q2), s3 + b, Fma(b, b, q3));
                }
            }
            else
            {
                Vector<double> a = Vector.Load((double*)x) - k0;
                (s0, q0) = (s0 + a, Fma(a, a, q0));
                if (two)
                {
                    a = Vector.Load((double*)x + v) - k1;
                    (s1, q1) = (s1 + a, Fma(a, a, q1));
                }
            }
        }

        Store(sum, lanes, s0, s1, s2, s3);
        Store(sumOfSquares, lanes, q0, q1, q2, q3);
    }

    /// <summary><see cref="GradientSums{T}"/> for the columns of one or two vectors over a block of rows, in registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GradientSumsStrip<T>(T* dy, T* x, long stride, int rows, bool two, double* center, double* sumDy, double* sumDyX)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int lanes = DoubleVectors<T>(two), v = Vector<double>.Count;
        Vector<double> k0 = Vector.Load(center), k1 = Part(center, 1, lanes), k2 = Part(center, 2, lanes), k3 = Part(center, 3, lanes);
        Vector<double> s0 = Vector.Load(sumDy), s1 = Part(sumDy, 1, lanes), s2 = Part(sumDy, 2, lanes), s3 = Part(sumDy, 3, lanes);
        Vector<double> q0 = Vector.Load(sumDyX), q1 = Part(sumDyX, 1, lanes), q2 = Part(sumDyX, 2, lanes), q3 = Part(sumDyX, 3, lanes);
        for (int r = 0; r < rows; r++, x += stride, dy += stride)
        {
            if (typeof(T) == typeof(float))
            {
                Vector.Widen(Vector.Load((float*)dy), out Vector<double> g0, out Vector<double> g1);
                Vector.Widen(Vector.Load((float*)x), out Vector<double> a, out Vector<double> b);
                (s0, q0, s1, q1) = (s0 + g0, Fma(g0, a - k0, q0), s1 + g1, Fma(g1, b - k1, q1));
                if (two)
                {
                    Vector.Widen(Vector.Load((float*)dy + Vector<float>.Count), out g0, out g1);
                    Vector.Widen(Vector.Load((float*)x + Vector<float>.Count), out a, out b);
                    (s2, q2, s3, q3) = (s2 + g0, Fma(g0, a - k2, q2), s3 + g1, Fma(g1, b - k3, q3));
                }
            }
            else
            {
                Vector<double> g = Vector.Load((double*)dy);
                (s0, q0) = (s0 + g, Fma(g, Vector.Load((double*)x) - k0, q0));
                if (two)
                {
                    g = Vector.Load((double*)dy + v);
                    (s1, q1) = (s1 + g, Fma(g, Vector.Load((double*)x + v) - k1, q1));
                }
            }
        }

        Store(sumDy, lanes, s0, s1, s2, s3);
        Store(sumDyX, lanes, q0, q1, q2, q3);
    }

    /// <summary>a * b + c with one rounding, as the scalar tails' <see cref="Math.FusedMultiplyAdd(double, double, double)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<double> Fma(Vector<double> a, Vector<double> b, Vector<double> c) => Vector.FusedMultiplyAdd(a, b, c);

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

    /// <summary>y[r, j] = (x[r, j] - center[j]) * scale[j] + shift[j]</summary>
    public static void Normalize<T>(T* x, T* y, long stride, int rows, int width, T* center, T* scale, T* shift)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        ApplyRows(new NormalizeColumns<T>(x, center, scale, shift), y, stride, rows, width);

    /// <summary>
    /// <see cref="Normalize{T}"/> one element at a time, for a block with some columns the vector loop cannot take
    /// (<c>exact[j]</c> false): those are computed in <see cref="double"/> as (x - mean) * wideScale + bias; the others
    /// exactly as the vector loop would, so a column's result never depends on its neighbours.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void NormalizeMixed<T>(
        T* x, T* y, long stride, int rows, int width, T* center, T* scale, T* shift, bool* exact, double* mean, double* wideScale, double* bias)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++, x += stride, y += stride)
        {
            for (int j = 0; j < width; j++)
            {
                y[j] = exact[j]
                    ? new NormalizeOperator<T>(x + j, center[j], scale[j], shift[j]).Scalar(0)
                    : new WideNormalizeOperator<T>(x + j, mean[j], wideScale[j], bias[j]).Scalar(0);
            }
        }
    }

    /// <summary>
    /// <see cref="InputGradient{T}"/> one element at a time, for a block with some columns the vector loop cannot take:
    /// those in <see cref="double"/> (<see cref="WideInputGradientOperator{T}"/>), the others as the vector loop would.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void InputGradientMixed<T>(
        T* dy, T* x, T* dx, long stride, int rows, int width, T* a, T* center, T* invStd, T* k, T* d, bool* exact, double* wideA, double* mean, double* wideInvStd, double* wideK, double* wideD)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++, x += stride, dy += stride, dx += stride)
        {
            for (int j = 0; j < width; j++)
            {
                dx[j] = exact[j]
                    ? new InputGradientOperator<T>(dy + j, x + j, a[j], center[j], invStd[j], k[j], d[j]).Scalar(0)
                    : new WideInputGradientOperator<T>(dy + j, x + j, wideA[j], mean[j], wideInvStd[j], wideK[j], wideD[j]).Scalar(0);
            }
        }
    }

    /// <summary>dx[r, j] = dy[r, j] * a[j] + (((x[r, j] - center[j]) * invStd[j]) * k[j] + d[j])</summary>
    public static void InputGradient<T>(T* dy, T* x, T* dx, long stride, int rows, int width, T* a, T* center, T* invStd, T* k, T* d)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        ApplyRows(new InputGradientColumns<T>(dy, x, a, center, invStd, k, d), dx, stride, rows, width);

    /// <summary>
    /// Drives a column operator over the rows, <see cref="RowGroup"/> at a time: each vector of columns loads its
    /// constants once (into registers) for the whole group. Each row's overlapping last vector is computed before the
    /// group stores anything, so the destination may be the very memory the operator reads.
    /// </summary>
    private static void ApplyRows<T, TOperator>(TOperator op, T* destination, long stride, int rows, int width)
        where T : unmanaged
        where TOperator : struct, IColumnOperator<T>
    {
        int v = Vector<T>.Count;
        if (!Vector.IsHardwareAccelerated || width < v)
        {
            for (long at = 0; at < rows * stride; at += stride)
            {
                for (int j = 0; j < width; j++)
                {
                    destination[at + j] = op.Scalar(at + j, j);
                }
            }

            return;
        }

        int last = width - v;
        Vector<T>* tails = stackalloc Vector<T>[RowGroup];
        for (int r0 = 0; r0 < rows; r0 += RowGroup)
        {
            int count = Math.Min(RowGroup, rows - r0);
            long first = r0 * stride, end = first + count * stride;
            ColumnConstants<T> c = op.Load(last);
            for (int r = 0; r < count; r++)
            {
                tails[r] = op.Vector(first + r * stride + last, c);
            }

            for (int j = 0; j < last; j += v)
            {
                c = op.Load(j);
                for (long at = first + j; at < end; at += stride)
                {
                    Vector.Store(op.Vector(at, c), destination + at);
                }
            }

            for (int r = 0; r < count; r++)
            {
                Vector.Store(tails[r], destination + first + r * stride + last);
            }
        }
    }

    /// <summary>Up to five per-column constants for one vector of columns, as loaded by an <see cref="IColumnOperator{T}"/>.</summary>
    private struct ColumnConstants<T>
        where T : unmanaged
    {
        public Vector<T> A;
        public Vector<T> B;
        public Vector<T> C;
        public Vector<T> D;
        public Vector<T> E;
    }

    /// <summary>An element loop over rows of columns with per-column constants (see <see cref="ApplyRows{T, TOperator}"/>).</summary>
    private interface IColumnOperator<T>
        where T : unmanaged
    {
        /// <summary>The constants of the vector of columns from <paramref name="j"/> on.</summary>
        ColumnConstants<T> Load(int j);

        /// <summary>The results for the columns of <paramref name="c"/> in the row whose first such element is at offset <paramref name="at"/>.</summary>
        Vector<T> Vector(long at, in ColumnConstants<T> c);

        /// <summary>The result for the element at offset <paramref name="at"/>, of column <paramref name="j"/>.</summary>
        T Scalar(long at, int j);
    }

    /// <summary>(x - center) * scale + shift</summary>
    private readonly struct NormalizeColumns<T>(T* x, T* center, T* scale, T* shift) : IColumnOperator<T>
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public ColumnConstants<T> Load(int j) =>
            new() { A = System.Numerics.Vector.Load(center + j), B = System.Numerics.Vector.Load(scale + j), C = System.Numerics.Vector.Load(shift + j) };

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector<T> Vector(long at, in ColumnConstants<T> c) => (System.Numerics.Vector.Load(x + at) - c.A) * c.B + c.C;

        public T Scalar(long at, int j) => (x[at] - center[j]) * scale[j] + shift[j];
    }

    /// <summary>dy * a + (((x - center) * invStd) * k + d)</summary>
    private readonly struct InputGradientColumns<T>(T* dy, T* x, T* a, T* center, T* invStd, T* k, T* d) : IColumnOperator<T>
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public ColumnConstants<T> Load(int j) => new()
        {
            A = System.Numerics.Vector.Load(a + j),
            B = System.Numerics.Vector.Load(center + j),
            C = System.Numerics.Vector.Load(invStd + j),
            D = System.Numerics.Vector.Load(k + j),
            E = System.Numerics.Vector.Load(d + j),
        };

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector<T> Vector(long at, in ColumnConstants<T> c) =>
            System.Numerics.Vector.Load(dy + at) * c.A + (((System.Numerics.Vector.Load(x + at) - c.B) * c.C) * c.D + c.E);

        public T Scalar(long at, int j) => dy[at] * a[j] + (((x[at] - center[j]) * invStd[j]) * k[j] + d[j]);
    }

    /// <summary>Where the whole vectors of a row end; reductions do the rest column by column.</summary>
    private static int VectorEnd<T>(int width) =>
        Vector.IsHardwareAccelerated ? width - width % Vector<T>.Count : 0;

    /// <summary>The columns a reduction strip takes: two vectors (the last strip of a row may take one).</summary>
    private static int StripWidth<T>() => 2 * Vector<T>.Count;
}
