using System;
using System.Numerics;
using BatchNorm.Kernels;

namespace BatchNorm;

public static partial class BatchNormKernels
{
    /// <summary>Computes each channel's mean and biased variance.</summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="input">The input, of length <c>layout.Length</c>.</param>
    /// <param name="layout">The view <c>(N, C, S)</c> of the input.</param>
    /// <param name="mean">Receives each channel's mean (length <c>C</c>).</param>
    /// <param name="variance">Receives each channel's biased variance (length <c>C</c>).</param>
    /// <param name="maxDegreeOfParallelism">The most threads to use; -1 or 0 for all processors.</param>
    /// <exception cref="ArgumentException">A span's length does not match <paramref name="layout"/>, or a channel is empty.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither <see cref="float"/> nor <see cref="double"/>.</exception>
    /// <remarks>
    /// This method effectively computes <c>mean = Σx / M</c> and <c>var = Σ(x - mean)² / M</c> over each channel's
    /// <c>M = N * S</c> values, accumulated in <see cref="double"/> around a shift so that large means do not cancel.
    /// </remarks>
    public static void ComputeStatistics<T>(
        ReadOnlySpan<T> input,
        BatchNormLayout layout,
        Span<double> mean,
        Span<double> variance,
        int maxDegreeOfParallelism = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        ComputeStatistics<T, T>(input, layout, mean, variance, maxDegreeOfParallelism);

    /// <summary>The <see cref="ComputeStatistics{T}(ReadOnlySpan{T}, BatchNormLayout, Span{double}, Span{double}, int)"/> of data of element type <typeparamref name="TData"/>: <typeparamref name="T"/> or a 16-bit type.</summary>
    internal static void ComputeStatistics<T, TData>(
        ReadOnlySpan<TData> input,
        BatchNormLayout layout,
        Span<double> mean,
        Span<double> variance,
        int maxDegreeOfParallelism = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged
    {
        Guard.SupportedType<T>();
        Guard.Length(input, layout.Length);
        Guard.Length<double>(mean, layout.Channels);
        Guard.Length<double>(variance, layout.Channels);
        Guard.Apart<double, double>(mean, variance);
        Guard.Apart(mean, input, variance);
        Guard.Apart(variance, input, mean);
        if (layout.ValuesPerChannel < 1)
        {
            ThrowHelper.ThrowArgument(nameof(input), "Expected at least one value per channel, but the input is empty.");
        }

        ForwardPass.Run(
            new ForwardRequest<T, TData> { Input = input, Layout = layout, Statistics = StatisticsSource.Batch, Mean = mean, Variance = variance },
            maxDegreeOfParallelism);
    }
}
