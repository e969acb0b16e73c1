using System;
using System.Numerics;
using BatchNorm.Kernels;

namespace BatchNorm;

public static partial class BatchNormKernels
{
#pragma warning disable RS0026 // The overloads differ in their data's element type, so no call is ambiguous.
    /// <summary>
    /// Training backward: the gradients of a <see cref="ForwardTraining{T}(ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{T}, double, Span{double}, Span{double}, Span{double}, int)"/> call with respect to its input, weight and
    /// bias, given the gradient of its output and the statistics it returned.
    /// </summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="input">The forward's input, of length <c>layout.Length</c>.</param>
    /// <param name="gradOutput">The gradient of the loss with respect to the forward's output.</param>
    /// <param name="gradInput">Overwritten with the input gradient; empty to skip it. May be the very same memory as <paramref name="gradOutput"/> or <paramref name="input"/>.</param>
    /// <param name="layout">The view <c>(N, C, S)</c> of the tensors.</param>
    /// <param name="weight">Gamma, of length <c>C</c>; empty for 1.</param>
    /// <param name="mean">The batch mean the forward used (length <c>C</c>).</param>
    /// <param name="inverseStandardDeviation">The inverse standard deviation the forward used (length <c>C</c>).</param>
    /// <param name="weightGradient">Length <c>C</c>: the weight gradient is added to it; empty to skip.</param>
    /// <param name="biasGradient">Length <c>C</c>: the bias gradient is added to it; empty to skip.</param>
    /// <param name="maxDegreeOfParallelism">The most threads to use; -1 or 0 for all processors.</param>
    /// <exception cref="ArgumentException">A span's length does not match <paramref name="layout"/>, or <paramref name="gradInput"/> partially overlaps another span.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither <see cref="float"/> nor <see cref="double"/>.</exception>
    /// <remarks>
    /// This method effectively computes, per channel with <c>xhat = (x - mean) * invstd</c> over its <c>M</c> values,
    /// <c>biasGradient += Σdy</c>, <c>weightGradient += Σ(dy * xhat)</c> and
    /// <c>dx = weight * invstd * (dy - Σdy / M - xhat * Σ(dy * xhat) / M)</c>.
    /// The sums accumulate in <see cref="double"/>; the input gradient is one fused pass <c>dx = dy * a + (x - mean) * k + d</c>.
    /// </remarks>
    public static void BackwardTraining<T>(
        ReadOnlySpan<T> input,
        ReadOnlySpan<T> gradOutput,
        Span<T> gradInput,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<double> mean,
        ReadOnlySpan<double> inverseStandardDeviation,
        Span<T> weightGradient,
        Span<T> biasGradient,
        int maxDegreeOfParallelism = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        BackwardTraining<T, T>(input, gradOutput, gradInput, layout, weight, mean, inverseStandardDeviation, weightGradient, biasGradient, maxDegreeOfParallelism);

    /// <inheritdoc cref="BackwardTraining{T}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{double}, ReadOnlySpan{double}, Span{T}, Span{T}, int)"/>
    /// <remarks>
    /// The <see cref="Half"/> form of <see cref="BackwardTraining{T}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{double}, ReadOnlySpan{double}, Span{T}, Span{T}, int)"/>, which says what it computes: each element is
    /// widened exactly to <typeparamref name="T"/>, the per-channel sums are the same bits as for <typeparamref name="T"/>
    /// data holding the widened values, and each output is rounded once to <see cref="Half"/> (to nearest, ties to even).
    /// The parameters, statistics and gradients stay <typeparamref name="T"/>.
    /// </remarks>
    public static void BackwardTraining<T>(
        ReadOnlySpan<Half> input,
        ReadOnlySpan<Half> gradOutput,
        Span<Half> gradInput,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<double> mean,
        ReadOnlySpan<double> inverseStandardDeviation,
        Span<T> weightGradient,
        Span<T> biasGradient,
        int maxDegreeOfParallelism = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        BackwardTraining<T, Half>(input, gradOutput, gradInput, layout, weight, mean, inverseStandardDeviation, weightGradient, biasGradient, maxDegreeOfParallelism);

    /// <inheritdoc cref="BackwardTraining{T}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{double}, ReadOnlySpan{double}, Span{T}, Span{T}, int)"/>
    /// <remarks>
    /// The <see cref="BFloat16"/> form of <see cref="BackwardTraining{T}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{double}, ReadOnlySpan{double}, Span{T}, Span{T}, int)"/>, which says what it computes: each element is
    /// widened exactly to <typeparamref name="T"/>, the per-channel sums are the same bits as for <typeparamref name="T"/>
    /// data holding the widened values, and each output is rounded once to <see cref="BFloat16"/> (to nearest, ties to even).
    /// The parameters, statistics and gradients stay <typeparamref name="T"/>.
    /// </remarks>
    public static void BackwardTraining<T>(
        ReadOnlySpan<BFloat16> input,
        ReadOnlySpan<BFloat16> gradOutput,
        Span<BFloat16> gradInput,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<double> mean,
        ReadOnlySpan<double> inverseStandardDeviation,
        Span<T> weightGradient,
        Span<T> biasGradient,
        int maxDegreeOfParallelism = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        BackwardTraining<T, BFloat16>(input, gradOutput, gradInput, layout, weight, mean, inverseStandardDeviation, weightGradient, biasGradient, maxDegreeOfParallelism);

#pragma warning restore RS0026

    /// <summary>The <see cref="BackwardTraining{T}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{double}, ReadOnlySpan{double}, Span{T}, Span{T}, int)"/> of data of element type <typeparamref name="TData"/>: <typeparamref name="T"/> or a 16-bit type.</summary>
    internal static void BackwardTraining<T, TData>(
        ReadOnlySpan<TData> input,
        ReadOnlySpan<TData> gradOutput,
        Span<TData> gradInput,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<double> mean,
        ReadOnlySpan<double> inverseStandardDeviation,
        Span<T> weightGradient,
        Span<T> biasGradient,
        int maxDegreeOfParallelism = -1,
        ReadOnlySpan<double> renormalization = default,
        scoped in ActivationTail<T, TData> tail = default)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged
    {
        ValidateBackward<T, TData>(input, gradOutput, gradInput, layout, weight, weightGradient, biasGradient);
        Guard.Length(mean, layout.Channels);
        Guard.Length(inverseStandardDeviation, layout.Channels);
        Guard.Apart(gradInput, mean, inverseStandardDeviation);
        Guard.Apart(weightGradient, mean, inverseStandardDeviation);
        Guard.Apart(biasGradient, mean, inverseStandardDeviation);
        BackwardPass.Run(
            new BackwardRequest<T, TData>
            {
                Input = input, GradOutput = gradOutput, GradInput = gradInput, Layout = layout, Weight = weight,
                Statistics = StatisticsSource.Batch, Mean = mean, InverseStd = inverseStandardDeviation,
                WeightGradient = weightGradient, BiasGradient = biasGradient, Renormalization = renormalization,
                Activation = tail.Activation, Residual = tail.Residual, Bias = tail.Bias, ExactFlags = tail.ExactFlags, MaskedGradient = tail.MaskedGradient,
            },
            maxDegreeOfParallelism);
    }
}
