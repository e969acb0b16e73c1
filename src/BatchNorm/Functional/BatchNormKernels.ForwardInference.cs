using System;
using System.Numerics;
using BatchNorm.Kernels;

namespace BatchNorm;

public static partial class BatchNormKernels
{
#pragma warning disable RS0026 // The overloads differ in their data's element type, so no call is ambiguous.
    /// <summary>Inference forward: normalizes each channel with the given running statistics, then applies the affine transform.</summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="input">The input, of length <c>layout.Length</c>.</param>
    /// <param name="output">The output, of length <c>layout.Length</c>; may be the very same memory as <paramref name="input"/>.</param>
    /// <param name="layout">The view <c>(N, C, S)</c> of both tensors.</param>
    /// <param name="weight">Gamma, of length <c>C</c>; empty for 1.</param>
    /// <param name="bias">Beta, of length <c>C</c>; empty for 0.</param>
    /// <param name="runningMean">The mean to subtract (length <c>C</c>).</param>
    /// <param name="runningVariance">The variance to divide by, as <c>sqrt(runningVariance + epsilon)</c> (length <c>C</c>).</param>
    /// <param name="epsilon">The value added to the variance; zero or more.</param>
    /// <param name="maxDegreeOfParallelism">The most threads to use; -1 or 0 for all processors.</param>
    /// <exception cref="ArgumentException">A span's length does not match <paramref name="layout"/>, or <paramref name="output"/> partially overlaps <paramref name="input"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epsilon"/> is negative or NaN.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither <see cref="float"/> nor <see cref="double"/>.</exception>
    /// <remarks>
    /// This method effectively computes <c>y = (x - runningMean) / sqrt(runningVariance + epsilon) * weight + bias</c>
    /// per channel: one read of the input and one write of the output. NaN propagates element-wise.
    /// </remarks>
    public static void ForwardInference<T>(
        ReadOnlySpan<T> input,
        Span<T> output,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<T> bias,
        ReadOnlySpan<T> runningMean,
        ReadOnlySpan<T> runningVariance,
        double epsilon,
        int maxDegreeOfParallelism = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        ForwardInference<T, T>(input, output, layout, weight, bias, runningMean, runningVariance, epsilon, maxDegreeOfParallelism);

    /// <inheritdoc cref="ForwardInference{T}(ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, double, int)"/>
    /// <remarks>
    /// The <see cref="Half"/> form of <see cref="ForwardInference{T}(ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, double, int)"/>, which says what it computes: each element is
    /// widened exactly to <typeparamref name="T"/>, the per-channel sums are the same bits as for <typeparamref name="T"/>
    /// data holding the widened values, and each output is rounded once to <see cref="Half"/> (to nearest, ties to even).
    /// The parameters, statistics and gradients stay <typeparamref name="T"/>.
    /// </remarks>
    public static void ForwardInference<T>(
        ReadOnlySpan<Half> input,
        Span<Half> output,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<T> bias,
        ReadOnlySpan<T> runningMean,
        ReadOnlySpan<T> runningVariance,
        double epsilon,
        int maxDegreeOfParallelism = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        ForwardInference<T, Half>(input, output, layout, weight, bias, runningMean, runningVariance, epsilon, maxDegreeOfParallelism);

    /// <inheritdoc cref="ForwardInference{T}(ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, double, int)"/>
    /// <remarks>
    /// The <see cref="BFloat16"/> form of <see cref="ForwardInference{T}(ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, double, int)"/>, which says what it computes: each element is
    /// widened exactly to <typeparamref name="T"/>, the per-channel sums are the same bits as for <typeparamref name="T"/>
    /// data holding the widened values, and each output is rounded once to <see cref="BFloat16"/> (to nearest, ties to even).
    /// The parameters, statistics and gradients stay <typeparamref name="T"/>.
    /// </remarks>
    public static void ForwardInference<T>(
        ReadOnlySpan<BFloat16> input,
        Span<BFloat16> output,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<T> bias,
        ReadOnlySpan<T> runningMean,
        ReadOnlySpan<T> runningVariance,
        double epsilon,
        int maxDegreeOfParallelism = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        ForwardInference<T, BFloat16>(input, output, layout, weight, bias, runningMean, runningVariance, epsilon, maxDegreeOfParallelism);

#pragma warning restore RS0026

    /// <summary>The <see cref="ForwardInference{T}(ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, double, int)"/> of data of element type <typeparamref name="TData"/>: <typeparamref name="T"/> or a 16-bit type.</summary>
    internal static void ForwardInference<T, TData>(
        ReadOnlySpan<TData> input,
        Span<TData> output,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<T> bias,
        ReadOnlySpan<T> runningMean,
        ReadOnlySpan<T> runningVariance,
        double epsilon,
        int maxDegreeOfParallelism = -1,
        scoped in ActivationTail<T, TData> tail = default)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged
    {
        ValidateForward<T, TData>(input, output, layout, weight, bias, epsilon);
        Guard.Length(runningMean, layout.Channels);
        Guard.Length(runningVariance, layout.Channels);
        Guard.Apart(runningMean, output);
        Guard.Apart(runningVariance, output);
        ForwardPass.Run(
            new ForwardRequest<T, TData>
            {
                Input = input, Output = output, Layout = layout, Weight = weight, Bias = bias, Epsilon = epsilon,
                Statistics = StatisticsSource.Running, RunningMean = runningMean, RunningVariance = runningVariance,
                Activation = tail.Activation, Residual = tail.Residual, ExactFlags = tail.ExactFlags,
            },
            maxDegreeOfParallelism);
    }
}
