using System;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>
/// The element loops for short runs (<c>S = 1</c> included, <c>(M, C)</c> with a row's channels contiguous): each walks
/// the rows of a segment of <c>width</c> consecutive columns, row by row, with per-column constants. (The reductions over
/// such segments are <see cref="ColumnReduction"/>.)
/// </summary>
internal static unsafe class ColumnDriver
{
    /// <summary>
    /// y[r, j] = (x[r, j] - center[j]) * scale[j] + shift[j], the constants per column in <paramref name="e"/> at
    /// <paramref name="slots"/>: the vector loop where every column's constants fit <typeparamref name="T"/>, else
    /// <see cref="NormalizeMixed{T, TMode}"/>; then the <paramref name="tail"/>'s epilogue, its tensors indexed as x.
    /// </summary>
    public static void Normalize<T, TMode>(T* x, T* y, ColumnExtent extent, in ChannelConstants<T> e, NormalizeSlots slots, Epilogue<T, TMode> tail)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TMode : struct, IEpilogueMode
    {
        if (AllExact(e, extent.Width))
        {
            ApplyRows(new NormalizeColumns<T, TMode>(x, e.Values(slots.Center), e.Values(slots.Scale), e.Values(slots.Shift), tail), y, extent);
        }
        else
        {
            NormalizeMixed(x, y, extent, e, slots, tail);
        }
    }

    /// <summary>
    /// dx[r, j] = dy[r, j] * a[j] + (((x[r, j] - center[j]) * invStd[j]) * k[j] + d[j]), the constants per column in
    /// <paramref name="e"/> (<see cref="InputGradientCoefficients"/>): the vector loop where every column's constants fit
    /// <typeparamref name="T"/>, else <see cref="InputGradientMixed{T}"/>.
    /// </summary>
    public static void InputGradient<T>(T* dy, T* x, T* dx, ColumnExtent extent, in ChannelConstants<T> e)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (AllExact(e, extent.Width))
        {
            var op = new InputGradientColumns<T>(
                dy, x, e.Values(InputGradientCoefficients.A), e.Values(InputGradientCoefficients.Center),
                e.Values(InputGradientCoefficients.InvStd), e.Values(InputGradientCoefficients.K), e.Values(InputGradientCoefficients.D));
            ApplyRows(op, dx, extent);
        }
        else
        {
            InputGradientMixed(dy, x, dx, extent, e);
        }
    }

    private static bool AllExact<T>(in ChannelConstants<T> e, int width)
        where T : unmanaged => new ReadOnlySpan<bool>(e.Exact, width).IndexOf(false) < 0;

    /// <summary>
    /// <see cref="Normalize{T, TMode}"/> one element at a time, for columns some of which the vector loop cannot take
    /// (<c>Exact[j]</c> false): those are computed in <see cref="double"/> from the wide constants; the others exactly as
    /// the vector loop would, so a column's result never depends on its neighbours.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void NormalizeMixed<T, TMode>(T* x, T* y, ColumnExtent extent, in ChannelConstants<T> e, NormalizeSlots slots, Epilogue<T, TMode> tail)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TMode : struct, IEpilogueMode
    {
        T* center = e.Values(slots.Center), scale = e.Values(slots.Scale), shift = e.Values(slots.Shift);
        double* mean = e.Wide(slots.WideCenter), wideScale = e.Wide(slots.Scale), bias = e.Wide(slots.Shift);
        for (int r = 0; r < extent.Rows; r++, x += extent.Stride, y += extent.Stride, tail = tail.At(extent.Stride))
        {
            for (int j = 0; j < extent.Width; j++)
            {
                y[j] = e.Exact[j]
                    ? new NormalizeOperator<T, TMode>(x + j, center[j], scale[j], shift[j], tail.At(j)).Scalar(0)
                    : new WideNormalizeOperator<T, TMode>(x + j, mean[j], wideScale[j], bias[j], tail.At(j)).Scalar(0);
            }
        }
    }

    /// <summary>
    /// <see cref="InputGradient{T}"/> one element at a time, for columns some of which the vector loop cannot take: those
    /// in <see cref="double"/> (<see cref="WideInputGradientOperator{T}"/>), the others as the vector loop would.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InputGradientMixed<T>(T* dy, T* x, T* dx, ColumnExtent extent, in ChannelConstants<T> e)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T* a = e.Values(InputGradientCoefficients.A), center = e.Values(InputGradientCoefficients.Center), invStd = e.Values(InputGradientCoefficients.InvStd);
        T* k = e.Values(InputGradientCoefficients.K), d = e.Values(InputGradientCoefficients.D);
        double* wideA = e.Wide(InputGradientCoefficients.A), mean = e.Wide(InputGradientCoefficients.Center), wideInvStd = e.Wide(InputGradientCoefficients.InvStd);
        double* wideK = e.Wide(InputGradientCoefficients.K), wideD = e.Wide(InputGradientCoefficients.D);
        for (int r = 0; r < extent.Rows; r++, x += extent.Stride, dy += extent.Stride, dx += extent.Stride)
        {
            for (int j = 0; j < extent.Width; j++)
            {
                dx[j] = e.Exact[j]
                    ? new InputGradientOperator<T>(dy + j, x + j, a[j], center[j], invStd[j], k[j], d[j]).Scalar(0)
                    : new WideInputGradientOperator<T>(dy + j, x + j, wideA[j], mean[j], wideInvStd[j], wideK[j], wideD[j]).Scalar(0);
            }
        }
    }

    /// <summary>
    /// Drives a column operator over the rows, row by row, each vector of columns with its constants from memory (a
    /// row's neighbours in memory order, so no load waits on a store to an address 4 KB away, as walking a group of rows
    /// column by column did: (256, 1024) took 1.3–1.9× as long that way). Each row's overlapping last vector is computed
    /// before the row stores anything, so the destination may be the very memory the operator reads.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ApplyRows<T, TOperator>(TOperator op, T* destination, ColumnExtent extent)
        where T : unmanaged
        where TOperator : struct, IColumnOperator<T>
    {
        (long stride, int rows, int width) = (extent.Stride, extent.Rows, extent.Width);
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

/// <summary>The rows a column element loop walks: <see cref="Rows"/> rows <see cref="Stride"/> elements apart, <see cref="Width"/> columns each.</summary>
internal readonly record struct ColumnExtent(long Stride, int Rows, int Width);

/// <summary>
/// Where the constants of <c>(x - center) * scale + shift</c> lie in a <see cref="ChannelConstants{T}"/>: the slots of
/// the element type's center, scale and shift (the wide scale and shift at the same slots), and the slot of the
/// wide center.
/// </summary>
internal readonly record struct NormalizeSlots(int Center, int Scale, int Shift, int WideCenter)
{
    /// <summary>The forward's normalize (<see cref="NormalizeCoefficients"/>).</summary>
    public static NormalizeSlots Forward => new(NormalizeCoefficients.Center, NormalizeCoefficients.Scale, NormalizeCoefficients.Shift, NormalizeCoefficients.Center);

    /// <summary>
    /// The evaluation input gradient <c>dx = (dy - 0) * a + 0</c> (<see cref="InputGradientCoefficients"/>): its center and
    /// <c>d</c> are 0 in the element type, and its wide <c>k</c> slot, 0 in evaluation, serves as the wide center.
    /// </summary>
    public static NormalizeSlots Evaluation => new(InputGradientCoefficients.Center, InputGradientCoefficients.A, InputGradientCoefficients.D, InputGradientCoefficients.K);
}
