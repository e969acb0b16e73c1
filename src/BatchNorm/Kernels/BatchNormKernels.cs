using System;
using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using BatchNorm.Kernels;

namespace BatchNorm;

/// <summary>
/// The stateless, allocation-free functional API under the layers: span in, span out, for a channel-major
/// <see cref="BatchNormLayout"/> <c>(N, C, S)</c>. The element type <c>T</c> of each method is <see cref="float"/>
/// or <see cref="double"/>.
/// </summary>
/// <remarks>
/// <para>
/// Per-channel statistics are <see cref="double"/> whatever the element type: they accumulate in <see cref="double"/>
/// around a shift (the channel's first value), so <c>float</c> data with a large mean relative to its spread keeps
/// float's accuracy.
/// </para>
/// <para>
/// Work is split across threads by blocks of channels for the reductions, every channel's sums computed by one thread
/// in a fixed order, and by blocks of samples and channels for the element-wise passes, so results are bit-identical
/// for every degree of parallelism. A <c>maxDegreeOfParallelism</c> of -1 (or 0) uses all processors; small inputs
/// stay on the calling thread. Every sum has a fixed order, the same for every vector width (128, 256 or 512 bits, or
/// none), so results are the same bits on every machine. The methods are safe to call concurrently on disjoint buffers.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// var layout = BatchNormLayout.FromShape([32, 64, 56, 56]);
/// double[] mean = new double[64], variance = new double[64], invStd = new double[64];
/// BatchNormKernels.ForwardTraining&lt;float&gt;(x, y, layout, weight, bias, 1e-5, mean, variance, invStd);
/// BatchNormKernels.UpdateRunningStatistics&lt;float&gt;(runningMean, runningVariance, mean, variance, layout.ValuesPerChannel, 0.1);
/// BatchNormKernels.BackwardTraining&lt;float&gt;(x, dy, dx, layout, weight, mean, invStd, weightGradient, biasGradient);
/// </code>
/// </example>
public static partial class BatchNormKernels
{
    /// <summary>Σ perElement[j * s + e] over e, in order, for channel j of a column-path chunk.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe double SumRun(double* perElement, int j, int s)
    {
        double sum = 0;
        for (int e = 0; e < s; e++)
        {
            sum += perElement[j * s + e];
        }

        return sum;
    }

    /// <summary>The inverse standard deviation <c>1 / sqrt(variance + epsilon)</c>, and 0 where <c>variance + epsilon</c> is 0 (as PyTorch).</summary>
    /// <param name="variance">The (biased) variance.</param>
    /// <param name="epsilon">The value added to the variance.</param>
    /// <returns>The inverse standard deviation.</returns>
    /// <remarks>
    /// This method effectively computes <c>1 / sqrt(variance + epsilon)</c>; where <c>variance + epsilon</c> is exactly 0
    /// (a constant channel with <c>epsilon = 0</c>) it returns 0, as PyTorch does, so the channel normalizes to its bias.
    /// NaN propagates.
    /// </remarks>
    public static double InverseStandardDeviation(double variance, double epsilon)
    {
        double sum = variance + epsilon;
        return sum == 0 ? 0 : 1 / Math.Sqrt(sum);
    }

    private static void EnsureSupported<T>()
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
        {
            ThrowHelper.ThrowNotSupportedType(typeof(T));
        }
    }

    private static void CheckLength<T>(ReadOnlySpan<T> span, int expected, string paramName)
    {
        if (span.Length != expected)
        {
            ThrowHelper.ThrowLengthMismatch(paramName, expected, span.Length);
        }
    }

    private static void CheckOptionalLength<T>(ReadOnlySpan<T> span, int expected, string paramName)
    {
        if (!span.IsEmpty && span.Length != expected)
        {
            ThrowHelper.ThrowLengthMismatch(paramName, expected, span.Length);
        }
    }

    /// <summary>Throws unless <paramref name="destination"/> is exactly <paramref name="source"/> or disjoint from it.</summary>
    private static void CheckAliasing<TSource, TDestination>(
        ReadOnlySpan<TSource> source, ReadOnlySpan<TDestination> destination, string destinationName, string sourceName) =>
        CheckOverlap(source, destination, destinationName, sourceName, allowExact: true);

    /// <summary>Throws unless <paramref name="destination"/> and <paramref name="source"/> share no memory.</summary>
    private static void CheckDisjoint<TSource, TDestination>(
        ReadOnlySpan<TSource> source, ReadOnlySpan<TDestination> destination, string destinationName, string sourceName) =>
        CheckOverlap(source, destination, destinationName, sourceName, allowExact: false);

    /// <summary>Throws unless a span the kernel writes shares no memory with two others (of any element types).</summary>
    private static void CheckApart<TWritten, TFirst, TSecond>(
        ReadOnlySpan<TWritten> written, string writtenName, ReadOnlySpan<TFirst> first, string firstName, ReadOnlySpan<TSecond> second, string secondName)
    {
        CheckDisjoint(first, written, writtenName, firstName);
        CheckDisjoint(second, written, writtenName, secondName);
    }

    private static void CheckOverlap<TSource, TDestination>(
        ReadOnlySpan<TSource> source, ReadOnlySpan<TDestination> destination, string destinationName, string sourceName, bool allowExact)
    {
        if (source.IsEmpty || destination.IsEmpty)
        {
            return;
        }

        ref byte s = ref Unsafe.As<TSource, byte>(ref Unsafe.AsRef(in source[0]));
        ref byte d = ref Unsafe.As<TDestination, byte>(ref Unsafe.AsRef(in destination[0]));
        long sourceBytes = (long)source.Length * Unsafe.SizeOf<TSource>();
        long destinationBytes = (long)destination.Length * Unsafe.SizeOf<TDestination>();
        long offset = (long)Unsafe.ByteOffset(ref s, ref d);
        bool disjoint = offset >= sourceBytes || -offset >= destinationBytes;
        bool identical = offset == 0 && sourceBytes == destinationBytes && typeof(TSource) == typeof(TDestination);
        if (!disjoint && !(allowExact && identical))
        {
            if (allowExact)
            {
                ThrowHelper.ThrowPartialOverlap(destinationName, sourceName);
            }

            ThrowHelper.ThrowArgument(destinationName, $"'{destinationName}' must not share memory with '{sourceName}', but it does.");
        }
    }
}
