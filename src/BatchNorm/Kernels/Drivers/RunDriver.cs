using System.Numerics;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>An element-wise pass, one element at a time: the result for element <c>i</c>.</summary>
internal interface IScalarOperator<T>
    where T : unmanaged
{
    T Scalar(nuint i);
}

/// <summary>An element-wise pass that also has a vector form: the results for the elements from <c>i</c> on.</summary>
internal interface IElementOperator<T> : IScalarOperator<T>
    where T : unmanaged
{
    Vector<T> Vector(nuint i);
}

/// <summary>
/// Drives an <see cref="IElementOperator{T}"/> over a run: aligned stores in between an overlapping first and last
/// vector, or for long runs, in between ends taken element by element. (Non-temporal stores for large outputs were
/// measured on two reference machines: a loss for long runs, many times slower for short ones, whose partial lines
/// defeat write combining.)
/// </summary>
internal static unsafe class RunDriver
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply<T, TOperator>(in TOperator op, T* destination, nuint length)
        where T : unmanaged
        where TOperator : struct, IElementOperator<T>
    {
        nuint v = (nuint)Vector<T>.Count;
        if (!Vector.IsHardwareAccelerated || length < v)
        {
            ApplyScalar(op, destination, length);
            return;
        }

        if (length * (nuint)sizeof(T) >= KernelPlan.ScalarEndsBytes)
        {
            ApplyLong(op, destination, length);
            return;
        }

        // The first and last vectors are computed before anything is stored (so the destination may be the very memory
        // an operator reads) and stored unaligned at the end; between them, every store is aligned, which matters for
        // the many short runs of small spatial sizes.
        TOperator o = op;
        nuint last = length - v;
        Vector<T> head = o.Vector(0);
        Vector<T> tail = o.Vector(last);
        nuint bytes = (nuint)Vector<byte>.Count;
        nuint i = (bytes - (nuint)destination % bytes) % bytes / (nuint)sizeof(T);
        for (; i < last; i += v)
        {
            Vector.StoreAligned(o.Vector(i), destination + i);
        }

        Vector.Store(head, destination);
        Vector.Store(tail, destination + last);
    }

    /// <summary>
    /// <see cref="Apply{T, TOperator}"/> for long runs: aligned stores in between ends taken element by element, so no
    /// line is stored twice (overlapping ends made 2 KB runs 5-20 % slower on the reference machine when the arrays are
    /// not 64-byte aligned, as .NET's large arrays are not). Each element is read before it is written. The operator is
    /// taken by value and its ends are not handed to <see cref="ApplyScalar{T, TOperator}"/>: taking its address kept
    /// its constants out of registers, which made short runs twice as slow.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ApplyLong<T, TOperator>(TOperator op, T* destination, nuint length)
        where T : unmanaged
        where TOperator : struct, IElementOperator<T>
    {
        nuint v = (nuint)Vector<T>.Count, bytes = (nuint)Vector<byte>.Count;
        nuint start = (bytes - (nuint)destination % bytes) % bytes / (nuint)sizeof(T);
        nuint end = start + (length - start) / v * v;
        for (nuint i = 0; i < start; i++)
        {
            destination[i] = op.Scalar(i);
        }

        for (nuint i = start; i < end; i += v)
        {
            Vector.StoreAligned(op.Vector(i), destination + i);
        }

        for (nuint i = end; i < length; i++)
        {
            destination[i] = op.Scalar(i);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ApplyScalar<T, TOperator>(in TOperator op, T* destination, nuint length)
        where T : unmanaged
        where TOperator : struct, IScalarOperator<T>
    {
        for (nuint i = 0; i < length; i++)
        {
            destination[i] = op.Scalar(i);
        }
    }
}
