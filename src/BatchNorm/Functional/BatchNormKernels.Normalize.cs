using System;
using System.Numerics;
using BatchNorm.Kernels;

namespace BatchNorm;

public static partial class BatchNormKernels
{
    /// <summary>
    /// Normalizes each channel with the given statistics, then applies the affine transform: the element pass of the
    /// forward, for statistics computed elsewhere (for example merged across replicas).
    /// </summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="input">The input, of length <c>layout.Length</c>.</param>
    /// <param name="output">The output, of length <c>layout.Length</c>; may be the very same memory as <paramref name="input"/>.</param>
    /// <param name="layout">The view <c>(N, C, S)</c> of both tensors.</param>
    /// <param name="weight">Gamma, of length <c>C</c>; empty for 1.</param>
    /// <param name="bias">Beta, of length <c>C</c>; empty for 0.</param>
    /// <param name="mean">The mean to subtract (length <c>C</c>).</param>
    /// <param name="inverseStandardDeviation">The factor <c>1 / sqrt(var + eps)</c> (length <c>C</c>).</param>
    /// <param name="maxDegreeOfParallelism">The most threads to use; -1 or 0 for all processors.</param>
    /// <exception cref="ArgumentException">A span's length does not match <paramref name="layout"/>, or <paramref name="output"/> partially overlaps <paramref name="input"/>.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither <see cref="float"/> nor <see cref="double"/>.</exception>
    /// <remarks>This method effectively computes <c>y = (x - mean) * inverseStandardDeviation * weight + bias</c> per channel.</remarks>
    public static void Normalize<T>(
        ReadOnlySpan<T> input,
        Span<T> output,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<T> bias,
        ReadOnlySpan<double> mean,
        ReadOnlySpan<double> inverseStandardDeviation,
        int maxDegreeOfParallelism = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Normalize<T, T>(input, output, layout, weight, bias, mean, inverseStandardDeviation, maxDegreeOfParallelism);

    /// <summary>The <see cref="Normalize{T}(ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{double}, ReadOnlySpan{double}, int)"/> of data of element type <typeparamref name="TData"/>: <typeparamref name="T"/> or a 16-bit type.</summary>
    internal static void Normalize<T, TData>(
        ReadOnlySpan<TData> input,
        Span<TData> output,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<T> bias,
        ReadOnlySpan<double> mean,
        ReadOnlySpan<double> inverseStandardDeviation,
        int maxDegreeOfParallelism = -1,
        scoped in ActivationTail<T, TData> tail = default)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged
    {
        ValidateForward<T, TData>(input, output, layout, weight, bias, 0);
        Guard.Length(mean, layout.Channels);
        Guard.Length(inverseStandardDeviation, layout.Channels);
        Guard.Apart(output, mean, inverseStandardDeviation);

        ForwardPass.Run(
            new ForwardRequest<T, TData>
            {
                Input = input, Output = output, Layout = layout, Weight = weight, Bias = bias,
                Statistics = StatisticsSource.Given, GivenMean = mean, GivenInverseStd = inverseStandardDeviation,
                Activation = tail.Activation, Residual = tail.Residual, ExactFlags = tail.ExactFlags,
            },
            maxDegreeOfParallelism);
    }
}
