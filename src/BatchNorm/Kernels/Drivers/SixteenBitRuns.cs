using System;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>
/// The normalize pass of a float layer on runs of 16-bit data with the conversions in registers: each vector of 16-bit
/// values widened, normalized as <see cref="NormalizeOperator{T}"/> computes it (the same operations, so the same bits),
/// and narrowed, with no staging buffer. Blocks with a channel that needs the wide form go through
/// <see cref="Staging{T, TData}"/>.
/// </summary>
internal static unsafe class SixteenBitRuns
{
    /// <summary>Whether <see cref="Normalize{TData, TFormat}"/> takes every channel of a block of <paramref name="width"/> channels.</summary>
    public static bool TakesAll(in ChannelConstants<float> k, int width) => new ReadOnlySpan<bool>(k.Exact, width).IndexOf(false) < 0;

    /// <summary>y = (x - center) * scale + shift over the runs of a block, as <c>ForwardPass.NormalizeBlock</c> walks them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Normalize<TData, TFormat>(TData* x, TData* y, BatchNormLayout layout, ElementBlock block, in ChannelConstants<float> k)
        where TData : unmanaged
        where TFormat : ISixteenBitFormat<TData>
    {
        (int n0, int n1, int c0, int width) = block;
        int s = layout.SpatialSize;
        long stride = (long)layout.Channels * s, first = (n0 * stride) + ((long)c0 * s);
        float* center = k.Values(NormalizeCoefficients.Center), scale = k.Values(NormalizeCoefficients.Scale), shift = k.Values(NormalizeCoefficients.Shift);
        for (int i = 0; i < n1 - n0; i++)
        {
            for (int j = 0; j < width; j++)
            {
                long at = first + (i * stride) + ((long)j * s);
                Run<TData, TFormat>(x + at, y + at, s, center[j], scale[j], shift[j]);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Run<TData, TFormat>(TData* x, TData* y, int length, float center, float scale, float shift)
        where TData : unmanaged
        where TFormat : ISixteenBitFormat<TData>
    {
        var c = new Vector<float>(center);
        var a = new Vector<float>(scale);
        var b = new Vector<float>(shift);
        ushort* source = (ushort*)x, destination = (ushort*)y;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= length - Vector<ushort>.Count; i += Vector<ushort>.Count)
            {
                Vector.Widen(Vector.Load(source + i), out Vector<uint> low, out Vector<uint> high);
                Vector<float> lowY = (Vector.AsVectorSingle(TFormat.Widen(low)) - c) * a + b;
                Vector<float> highY = (Vector.AsVectorSingle(TFormat.Widen(high)) - c) * a + b;
                Vector.Store(Vector.Narrow(TFormat.Narrow(Vector.AsVectorUInt32(lowY)), TFormat.Narrow(Vector.AsVectorUInt32(highY))), destination + i);
            }
        }

        for (; i < length; i++)
        {
            y[i] = TFormat.FromSingle((TFormat.ToSingle(x[i]) - center) * scale + shift);
        }
    }
}
