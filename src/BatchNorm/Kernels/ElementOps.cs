using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace BatchNorm.Kernels;

/// <summary>An element-wise pass: the result for element <c>i</c>, or for a vector of elements starting there.</summary>
internal interface IElementOperator<T>
    where T : unmanaged
{
    Vector<T> Vector(nuint i);

    T Scalar(nuint i);
}

/// <summary>(x - center) * scale + shift</summary>
internal readonly unsafe struct NormalizeOperator<T>(T* x, T center, T scale, T shift) : IElementOperator<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Vector<T> _center = new(center);
    private readonly Vector<T> _scale = new(scale);
    private readonly Vector<T> _shift = new(shift);

    public Vector<T> Vector(nuint i) => (System.Numerics.Vector.Load(x + i) - _center) * _scale + _shift;

    public T Scalar(nuint i) => (x[i] - center) * scale + shift;
}

/// <summary>dy * a + ((x - center) * k + d)</summary>
internal readonly unsafe struct InputGradientOperator<T>(T* dy, T* x, T a, T center, T k, T d) : IElementOperator<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Vector<T> _a = new(a);
    private readonly Vector<T> _center = new(center);
    private readonly Vector<T> _k = new(k);
    private readonly Vector<T> _d = new(d);

    public Vector<T> Vector(nuint i) =>
        System.Numerics.Vector.Load(dy + i) * _a + ((System.Numerics.Vector.Load(x + i) - _center) * _k + _d);

    public T Scalar(nuint i) => dy[i] * a + ((x[i] - center) * k + d);
}

/// <summary>
/// Drives an <see cref="IElementOperator{T}"/> over a run. The tail is an overlapping last vector computed before
/// anything is stored, so the destination may be the very memory an operator reads. With <c>nonTemporal</c>, the
/// stores bypass the cache (after a scalar head that aligns them): for outputs too large to stay in cache, this saves
/// reading each destination line before writing it and keeps the inputs of the next pass in cache.
/// </summary>
internal static unsafe class ElementOps
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply<T, TOperator>(in TOperator op, T* destination, nuint length, bool nonTemporal)
        where T : unmanaged
        where TOperator : struct, IElementOperator<T>
    {
        nuint v = (nuint)Vector<T>.Count;
        if (!Vector.IsHardwareAccelerated || length < v)
        {
            for (nuint j = 0; j < length; j++)
            {
                destination[j] = op.Scalar(j);
            }

            return;
        }

        nuint last = length - v;
        Vector<T> tail = op.Vector(last);
        nuint i = 0;
        if (nonTemporal)
        {
            nuint bytes = (nuint)Vector<byte>.Count;
            nuint head = (bytes - (nuint)destination % bytes) % bytes / (nuint)sizeof(T);
            for (; i < head && i < last; i++)
            {
                destination[i] = op.Scalar(i);
            }

            for (; i < last; i += v)
            {
                Vector.StoreAlignedNonTemporal(op.Vector(i), destination + i);
            }
        }
        else
        {
            for (; i < last; i += v)
            {
                Vector.Store(op.Vector(i), destination + i);
            }
        }

        Vector.Store(tail, destination + last);
    }

    /// <summary>Orders non-temporal stores before whatever follows (a no-op where they do not exist).</summary>
    public static void Fence(bool nonTemporal)
    {
        if (nonTemporal && Sse.IsSupported)
        {
            Sse.StoreFence();
        }
    }
}
