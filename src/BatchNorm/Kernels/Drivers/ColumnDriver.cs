using System;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>
/// The element loops for short runs (<c>S = 1</c> included, <c>(M, C)</c> with a row's channels contiguous): each walks
/// the rows of a segment of <c>width</c> consecutive columns with per-column constants, loading each vector of constants
/// once per group of rows. (The reductions over such segments are <see cref="ColumnReduction"/>.)
/// </summary>
internal static unsafe class ColumnDriver
{
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
    /// Drives a column operator over the rows, row by row, each vector of columns with its constants from memory (a
    /// row's neighbours in memory order, so no load waits on a store to an address 4 KB away, as walking a group of rows
    /// column by column did: (256, 1024) took 1.3–1.9× as long that way). Each row's overlapping last vector is computed
    /// before the row stores anything, so the destination may be the very memory the operator reads.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
        for (long at = 0; at < rows * stride; at += stride)
        {
            Vector<T> tail = op.Vector(at + last, op.Load(last));
            for (int j = 0; j < last; j += v)
            {
                Vector.Store(op.Vector(at + j, op.Load(j)), destination + at + j);
            }

            Vector.Store(tail, destination + at + last);
        }
    }
}

/// <summary>Up to five per-column constants for one vector of columns, as loaded by an <see cref="IColumnOperator{T}"/>.</summary>
internal struct ColumnConstants<T>
    where T : unmanaged
{
    public Vector<T> A;
    public Vector<T> B;
    public Vector<T> C;
    public Vector<T> D;
    public Vector<T> E;
}

/// <summary>An element loop over rows of columns with per-column constants (see <see cref="ColumnDriver"/>).</summary>
internal interface IColumnOperator<T>
    where T : unmanaged
{
    /// <summary>The constants of the vector of columns from <paramref name="j"/> on.</summary>
    ColumnConstants<T> Load(int j);

    /// <summary>The results for the columns of <paramref name="c"/> in the row whose first such element is at offset <paramref name="at"/>.</summary>
    Vector<T> Vector(long at, in ColumnConstants<T> c);

    /// <summary>The result for the element at offset <paramref name="at"/>, of column <paramref name="j"/>.</summary>
    T Scalar(long at, int j);
}
