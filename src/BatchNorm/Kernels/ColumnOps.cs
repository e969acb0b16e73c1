using System;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>
/// The element loops for <c>S = 1</c> data, <c>(M, C)</c> with a row's channels contiguous: each loop walks the rows
/// of a block of <c>width</c> consecutive channels (columns) in order, streaming each row's block, with per-column
/// accumulators and constants in small buffers that stay in L1. Each column accumulates in row order whether a
/// lane or the scalar tail handles it, so results do not depend on the SIMD width.
/// </summary>
internal static unsafe class ColumnOps
{
    /// <summary>sum[j] = Σ(x[r, j] - shift[j]); sumOfSquares[j] = Σ(x[r, j] - shift[j])²</summary>
    public static void ShiftedSums<T>(T* x, long stride, int rows, int width, double* shift, double* sum, double* sumOfSquares)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        new Span<double>(sum, width).Clear();
        new Span<double>(sumOfSquares, width).Clear();
        int vectorEnd = VectorEnd<T>(width);
        for (int r = 0; r < rows; r++, x += stride)
        {
            int j = 0;
            for (; j < vectorEnd; j += Vector<T>.Count)
            {
                ChannelOps.Widen(Vector.Load(x + j), out Vector<double> lo, out Vector<double> hi);
                AddShiftedSquares(lo, j, shift, sum, sumOfSquares);
                if (typeof(T) == typeof(float))
                {
                    AddShiftedSquares(hi, j + Vector<double>.Count, shift, sum, sumOfSquares);
                }
            }

            for (; j < width; j++)
            {
                double d = double.CreateTruncating(x[j]) - shift[j];
                sum[j] += d;
                sumOfSquares[j] += d * d;
            }
        }
    }

    /// <summary>sumDy[j] = Σdy[r, j]; sumDyX[j] = Σdy[r, j]·(x[r, j] - center[j])</summary>
    public static void GradientSums<T>(T* dy, T* x, long stride, int rows, int width, double* center, double* sumDy, double* sumDyX)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        new Span<double>(sumDy, width).Clear();
        new Span<double>(sumDyX, width).Clear();
        int vectorEnd = VectorEnd<T>(width);
        for (int r = 0; r < rows; r++, x += stride, dy += stride)
        {
            int j = 0;
            for (; j < vectorEnd; j += Vector<T>.Count)
            {
                ChannelOps.Widen(Vector.Load(dy + j), out Vector<double> gLo, out Vector<double> gHi);
                ChannelOps.Widen(Vector.Load(x + j), out Vector<double> xLo, out Vector<double> xHi);
                AddGradientProducts(gLo, xLo, j, center, sumDy, sumDyX);
                if (typeof(T) == typeof(float))
                {
                    AddGradientProducts(gHi, xHi, j + Vector<double>.Count, center, sumDy, sumDyX);
                }
            }

            for (; j < width; j++)
            {
                double g = double.CreateTruncating(dy[j]);
                sumDy[j] += g;
                sumDyX[j] += g * (double.CreateTruncating(x[j]) - center[j]);
            }
        }
    }

    /// <summary>y[r, j] = (x[r, j] - center[j]) * scale[j] + shift[j]</summary>
    public static void Normalize<T>(T* x, T* y, long stride, int rows, int width, T* center, T* scale, T* shift)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int v = Vector<T>.Count;
        bool vectors = Vector.IsHardwareAccelerated && width >= v;
        int last = width - v;
        for (int r = 0; r < rows; r++, x += stride, y += stride)
        {
            if (vectors)
            {
                // The overlapping last vector is computed before the loop stores anything, for in-place calls.
                Vector<T> tail = (Vector.Load(x + last) - Vector.Load(center + last)) * Vector.Load(scale + last) + Vector.Load(shift + last);
                for (int j = 0; j < last; j += v)
                {
                    Vector.Store((Vector.Load(x + j) - Vector.Load(center + j)) * Vector.Load(scale + j) + Vector.Load(shift + j), y + j);
                }

                Vector.Store(tail, y + last);
            }
            else
            {
                for (int j = 0; j < width; j++)
                {
                    y[j] = (x[j] - center[j]) * scale[j] + shift[j];
                }
            }
        }
    }

    /// <summary>
    /// <see cref="Normalize{T}"/> one element at a time, for a block with some columns the vector loop cannot take
    /// (<c>exact[j]</c> false): those are computed in <see cref="double"/> as (x - mean) * wideScale + bias; the others
    /// exactly as the vector loop would, so a column's result never depends on its neighbours.
    /// </summary>
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
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int v = Vector<T>.Count;
        bool vectors = Vector.IsHardwareAccelerated && width >= v;
        int last = width - v;
        for (int r = 0; r < rows; r++, x += stride, dy += stride, dx += stride)
        {
            if (vectors)
            {
                Vector<T> tail = Gradient(dy, x, a, center, invStd, k, d, last);
                for (int j = 0; j < last; j += v)
                {
                    Vector.Store(Gradient(dy, x, a, center, invStd, k, d, j), dx + j);
                }

                Vector.Store(tail, dx + last);
            }
            else
            {
                for (int j = 0; j < width; j++)
                {
                    dx[j] = dy[j] * a[j] + (((x[j] - center[j]) * invStd[j]) * k[j] + d[j]);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<T> Gradient<T>(T* dy, T* x, T* a, T* center, T* invStd, T* k, T* d, int j)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Vector.Load(dy + j) * Vector.Load(a + j)
            + (((Vector.Load(x + j) - Vector.Load(center + j)) * Vector.Load(invStd + j)) * Vector.Load(k + j) + Vector.Load(d + j));

    /// <summary>Where the whole vectors of a row end; reductions do the rest column by column.</summary>
    private static int VectorEnd<T>(int width) =>
        Vector.IsHardwareAccelerated ? width - width % Vector<T>.Count : 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddShiftedSquares(Vector<double> x, int j, double* shift, double* sum, double* sumOfSquares)
    {
        Vector<double> d = x - Vector.Load(shift + j);
        Vector.Store(Vector.Load(sum + j) + d, sum + j);
        Vector.Store(Vector.Load(sumOfSquares + j) + d * d, sumOfSquares + j);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddGradientProducts(Vector<double> g, Vector<double> x, int j, double* center, double* sumDy, double* sumDyX)
    {
        Vector.Store(Vector.Load(sumDy + j) + g, sumDy + j);
        Vector.Store(Vector.Load(sumDyX + j) + g * (x - Vector.Load(center + j)), sumDyX + j);
    }
}
