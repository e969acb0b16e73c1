using System;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>
/// The element passes of a float layer on long runs of 16-bit data with the conversions in registers: each vector of
/// 16-bit values widened, computed as the float operators compute it (the same operations, so the same bits) and
/// narrowed, with no staging buffer. Column-path blocks, and blocks with a channel that needs the wide form, go through
/// <see cref="Staging{T, TData}"/>.
/// </summary>
internal static unsafe class SixteenBitRuns
{
    /// <summary>
    /// Normalizes a block as <c>ForwardPass</c> does when it can here: a float layer, 16-bit data, long runs and every
    /// channel's constants exact in float; otherwise returns false and the caller stages.
    /// </summary>
    public static bool TryNormalize<T, TData>(TData* x, TData* y, BatchNormLayout layout, ElementBlock block, in ChannelConstants<T> k)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged
    {
        if (!Applies<T, TData>(layout, k, block.Width))
        {
            return false;
        }

        ref readonly ChannelConstants<float> f = ref Unsafe.As<ChannelConstants<T>, ChannelConstants<float>>(ref Unsafe.AsRef(in k));
        if (typeof(TData) == typeof(Half))
        {
            Walk<Half, HalfBits, NormalizeRun<Half, HalfBits>>((Half*)x, null, (Half*)y, layout, block, f);
        }
        else
        {
            Walk<BFloat16, BFloat16Bits, NormalizeRun<BFloat16, BFloat16Bits>>((BFloat16*)x, null, (BFloat16*)y, layout, block, f);
        }

        return true;
    }

    /// <summary>
    /// The input gradient of a block as <c>BackwardPass</c> computes it, when it can here (as for
    /// <see cref="TryNormalize{T, TData}"/>): in training <c>dy * a + (((x - center) * invStd) * k + d)</c>, in
    /// evaluation <c>dy * a</c>.
    /// </summary>
    public static bool TryInputGradient<T, TData>(TData* dy, TData* x, TData* dx, BatchNormLayout layout, ElementBlock block, in ChannelConstants<T> g, bool training)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged
    {
        if (!Applies<T, TData>(layout, g, block.Width))
        {
            return false;
        }

        ref readonly ChannelConstants<float> f = ref Unsafe.As<ChannelConstants<T>, ChannelConstants<float>>(ref Unsafe.AsRef(in g));
        if (typeof(TData) == typeof(Half) && training)
        {
            Walk<Half, HalfBits, InputGradientRun<Half, HalfBits>>((Half*)dy, (Half*)x, (Half*)dx, layout, block, f);
        }
        else if (typeof(TData) == typeof(Half))
        {
            Walk<Half, HalfBits, ScaleRun<Half, HalfBits>>((Half*)dy, null, (Half*)dx, layout, block, f);
        }
        else if (training)
        {
            Walk<BFloat16, BFloat16Bits, InputGradientRun<BFloat16, BFloat16Bits>>((BFloat16*)dy, (BFloat16*)x, (BFloat16*)dx, layout, block, f);
        }
        else
        {
            Walk<BFloat16, BFloat16Bits, ScaleRun<BFloat16, BFloat16Bits>>((BFloat16*)dy, null, (BFloat16*)dx, layout, block, f);
        }

        return true;
    }

    private static bool Applies<T, TData>(BatchNormLayout layout, in ChannelConstants<T> k, int width)
        where T : unmanaged
        where TData : unmanaged =>
        typeof(T) == typeof(float) && (typeof(TData) == typeof(Half) || typeof(TData) == typeof(BFloat16))
        && !KernelPlan.UsesColumns<T>(layout) && new ReadOnlySpan<bool>(k.Exact, width).IndexOf(false) < 0;

    /// <summary>Runs <typeparamref name="TRun"/> over the runs of a block, sample by sample, channel by channel, as the passes walk them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Walk<TData, TFormat, TRun>(TData* a, TData* b, TData* destination, BatchNormLayout layout, ElementBlock block, in ChannelConstants<float> k)
        where TData : unmanaged
        where TFormat : ISixteenBitFormat<TData>
        where TRun : struct, IRun<TData>
    {
        (int n0, int n1, int c0, int width) = block;
        int s = layout.SpatialSize;
        long stride = (long)layout.Channels * s, first = (n0 * stride) + ((long)c0 * s);
        for (int i = 0; i < n1 - n0; i++)
        {
            for (int j = 0; j < width; j++)
            {
                long at = first + (i * stride) + ((long)j * s);
                TRun.Run(a + at, b == null ? null : b + at, destination + at, s, k, j);
            }
        }
    }

    /// <summary>One run's element loop: vectors of 16-bit values widened, computed in float, narrowed; then the tail.</summary>
    private interface IRun<TData>
        where TData : unmanaged
    {
        static abstract void Run(TData* a, TData* b, TData* destination, int length, in ChannelConstants<float> k, int j);
    }

    /// <summary>y = (x - center) * scale + shift, as <see cref="NormalizeOperator{T, TMode}"/>.</summary>
    private readonly struct NormalizeRun<TData, TFormat> : IRun<TData>
        where TData : unmanaged
        where TFormat : ISixteenBitFormat<TData>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Run(TData* x, TData* unused, TData* y, int length, in ChannelConstants<float> k, int j)
        {
            float center = k.Values(NormalizeCoefficients.Center)[j], scale = k.Values(NormalizeCoefficients.Scale)[j], shift = k.Values(NormalizeCoefficients.Shift)[j];
            Vector<float> c = new(center), a = new(scale), b = new(shift);
            ushort* source = (ushort*)x, destination = (ushort*)y;
            int i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                for (; i <= length - Vector<ushort>.Count; i += Vector<ushort>.Count)
                {
                    (Vector<float> even, Vector<float> odd) = Load<TData, TFormat>(source + i);
                    Store<TData, TFormat>((even - c) * a + b, (odd - c) * a + b, destination + i);
                }
            }

            for (; i < length; i++)
            {
                y[i] = TFormat.FromSingle((TFormat.ToSingle(x[i]) - center) * scale + shift);
            }
        }
    }

    /// <summary>dx = dy * a + (((x - center) * invStd) * k + d), as <see cref="InputGradientOperator{T}"/>.</summary>
    private readonly struct InputGradientRun<TData, TFormat> : IRun<TData>
        where TData : unmanaged
        where TFormat : ISixteenBitFormat<TData>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Run(TData* dy, TData* x, TData* dx, int length, in ChannelConstants<float> g, int j)
        {
            float a = g.Values(InputGradientCoefficients.A)[j], center = g.Values(InputGradientCoefficients.Center)[j];
            float invStd = g.Values(InputGradientCoefficients.InvStd)[j], k = g.Values(InputGradientCoefficients.K)[j], d = g.Values(InputGradientCoefficients.D)[j];
            Vector<float> va = new(a), vc = new(center), vi = new(invStd), vk = new(k), vd = new(d);
            ushort* gradient = (ushort*)dy, input = (ushort*)x, destination = (ushort*)dx;
            int i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                for (; i <= length - Vector<ushort>.Count; i += Vector<ushort>.Count)
                {
                    (Vector<float> dyEven, Vector<float> dyOdd) = Load<TData, TFormat>(gradient + i);
                    (Vector<float> xEven, Vector<float> xOdd) = Load<TData, TFormat>(input + i);
                    Store<TData, TFormat>(dyEven * va + (((xEven - vc) * vi) * vk + vd), dyOdd * va + (((xOdd - vc) * vi) * vk + vd), destination + i);
                }
            }

            for (; i < length; i++)
            {
                dx[i] = TFormat.FromSingle(TFormat.ToSingle(dy[i]) * a + (((TFormat.ToSingle(x[i]) - center) * invStd) * k + d));
            }
        }
    }

    /// <summary>The evaluation input gradient dx = dy * a (as <c>TensorPrimitives.Multiply</c> computes it for float data).</summary>
    private readonly struct ScaleRun<TData, TFormat> : IRun<TData>
        where TData : unmanaged
        where TFormat : ISixteenBitFormat<TData>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Run(TData* dy, TData* unused, TData* dx, int length, in ChannelConstants<float> g, int j)
        {
            float a = g.Values(InputGradientCoefficients.A)[j];
            Vector<float> va = new(a);
            ushort* gradient = (ushort*)dy, destination = (ushort*)dx;
            int i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                for (; i <= length - Vector<ushort>.Count; i += Vector<ushort>.Count)
                {
                    (Vector<float> even, Vector<float> odd) = Load<TData, TFormat>(gradient + i);
                    Store<TData, TFormat>(even * va, odd * va, destination + i);
                }
            }

            for (; i < length; i++)
            {
                dx[i] = TFormat.FromSingle(TFormat.ToSingle(dy[i]) * a);
            }
        }
    }

    /// <summary>
    /// A vector of 16-bit values as the two float vectors they widen to: the even-indexed elements and the odd-indexed
    /// ones (<see cref="ISixteenBitFormat{TData}.WidenPairs"/>), which element-wise arithmetic takes in any order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector<float> Even, Vector<float> Odd) Load<TData, TFormat>(ushort* source)
        where TData : unmanaged
        where TFormat : ISixteenBitFormat<TData> =>
        TFormat.WidenPairs(Vector.Load((uint*)source));

    /// <summary>The even and odd elements' results rounded once to the 16-bit format and stored in memory order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TData, TFormat>(Vector<float> even, Vector<float> odd, ushort* destination)
        where TData : unmanaged
        where TFormat : ISixteenBitFormat<TData> =>
        Vector.Store(TFormat.NarrowPairs(even, odd), (uint*)destination);
}
