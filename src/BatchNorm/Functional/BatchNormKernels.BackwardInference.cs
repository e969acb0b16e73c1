using System;
using System.Numerics;
using BatchNorm.Kernels;

namespace BatchNorm;

public static partial class BatchNormKernels
{
#pragma warning disable RS0026 // The overloads differ in their data's element type, so no call is ambiguous.
    /// <summary>
    /// Inference backward: the gradients of a <see cref="ForwardInference{T}(ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, double, int)"/> call, whose running statistics are
    /// constants, with respect to its input, weight and bias.
    /// </summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="input">The forward's input, of length <c>layout.Length</c>.</param>
    /// <param name="gradOutput">The gradient of the loss with respect to the forward's output.</param>
    /// <param name="gradInput">Overwritten with the input gradient; empty to skip it. May be the very same memory as <paramref name="gradOutput"/> or <paramref name="input"/>.</param>
    /// <param name="layout">The view <c>(N, C, S)</c> of the tensors.</param>
    /// <param name="weight">Gamma, of length <c>C</c>; empty for 1.</param>
    /// <param name="runningMean">The mean the forward used (length <c>C</c>).</param>
    /// <param name="runningVariance">The variance the forward used (length <c>C</c>).</param>
    /// <param name="epsilon">The value the forward added to the variance; zero or more.</param>
    /// <param name="weightGradient">Length <c>C</c>: the weight gradient is added to it; empty to skip.</param>
    /// <param name="biasGradient">Length <c>C</c>: the bias gradient is added to it; empty to skip.</param>
    /// <param name="maxDegreeOfParallelism">The most threads to use; -1 or 0 for all processors.</param>
    /// <exception cref="ArgumentException">A span's length does not match <paramref name="layout"/>, or <paramref name="gradInput"/> partially overlaps another span.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epsilon"/> is negative or NaN.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither <see cref="float"/> nor <see cref="double"/>.</exception>
    /// <remarks>
    /// This method effectively computes, per channel with <c>invstd = 1 / sqrt(runningVariance + epsilon)</c> and
    /// <c>xhat = (x - runningMean) * invstd</c>: <c>dx = dy * weight * invstd</c>, <c>biasGradient += Σdy</c> and
    /// <c>weightGradient += Σ(dy * xhat)</c>, the sums in <see cref="double"/>.
    /// </remarks>
    public static void BackwardInference<T>(
        ReadOnlySpan<T> input,
        ReadOnlySpan<T> gradOutput,
        Span<T> gradInput,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<T> runningMean,
        ReadOnlySpan<T> runningVariance,
        double epsilon,
        Span<T> weightGradient,
        Span<T> biasGradient,
        int maxDegreeOfParallelism = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        BackwardInference<T, T>(input, gradOutput, gradInput, layout, weight, runningMean, runningVariance, epsilon, weightGradient, biasGradient, maxDegreeOfParallelism);

    /// <inheritdoc cref="BackwardInference{T}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, double, Span{T}, Span{T}, int)"/>
    /// <remarks>
    /// The <see cref="Half"/> form of <see cref="BackwardInference{T}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, double, Span{T}, Span{T}, int)"/>, which says what it computes: each element is
    /// widened exactly to <typeparamref name="T"/>, the per-channel sums are the same bits as for <typeparamref name="T"/>
    /// data holding the widened values, and each output is rounded once to <see cref="Half"/> (to nearest, ties to even).
    /// The parameters, statistics and gradients stay <typeparamref name="T"/>.
    /// </remarks>
    public static void BackwardInference<T>(
        ReadOnlySpan<Half> input,
        ReadOnlySpan<Half> gradOutput,
        Span<Half> gradInput,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<T> runningMean,
        ReadOnlySpan<T> runningVariance,
        double epsilon,
        Span<T> weightGradient,
        Span<T> biasGradient,
        int maxDegreeOfParallelism = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        BackwardInference<T, Half>(input, gradOutput, gradInput, layout, weight, runningMean, runningVariance, epsilon, weightGradient, biasGradient, maxDegreeOfParallelism);

    /// <inheritdoc cref="BackwardInference{T}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, double, Span{T}, Span{T}, int)"/>
    /// <remarks>
    /// The <see cref="BFloat16"/> form of <see cref="BackwardInference{T}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, double, Span{T}, Span{T}, int)"/>, which says what it computes: each element is
    /// widened exactly to <typeparamref name="T"/>, the per-channel sums are the same bits as for <typeparamref name="T"/>
    /// data holding the widened values, and each output is rounded once to <see cref="BFloat16"/> (to nearest, ties to even).
    /// The parameters, statistics and gradients stay <typeparamref name="T"/>.
    /// </remarks>
    public static void BackwardInference<T>(
        ReadOnlySpan<BFloat16> input,
        ReadOnlySpan<BFloat16> gradOutput,
        Span<BFloat16> gradInput,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<T> runningMean,
        ReadOnlySpan<T> runningVariance,
        double epsilon,
        Span<T> weightGradient,
        Span<T> biasGradient,
        int maxDegreeOfParallelism = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        BackwardInference<T, BFloat16>(input, gradOutput, gradInput, layout, weight, runningMean, runningVariance, epsilon, weightGradient, biasGradient, maxDegreeOfParallelism);

#pragma warning restore RS0026

    /// <summary>The <see cref="BackwardInference{T}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, double, Span{T}, Span{T}, int)"/> of data of element type <typeparamref name="TData"/>: <typeparamref name="T"/> or a 16-bit type.</summary>
    internal static void BackwardInference<T, TData>(
        ReadOnlySpan<TData> input,
        ReadOnlySpan<TData> gradOutput,
        Span<TData> gradInput,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<T> runningMean,
        ReadOnlySpan<T> runningVariance,
        double epsilon,
        Span<T> weightGradient,
        Span<T> biasGradient,
        int maxDegreeOfParallelism = -1,
        scoped in ActivationTail<T, TData> tail = default)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged
    {
        ValidateBackward<T, TData>(input, gradOutput, gradInput, layout, weight, weightGradient, biasGradient);
        Guard.Epsilon(epsilon);
        Guard.Length(runningMean, layout.Channels);
        Guard.Length(runningVariance, layout.Channels);
        Guard.Apart(gradInput, runningMean, runningVariance);
        Guard.Apart(weightGradient, runningMean, runningVariance);
        Guard.Apart(biasGradient, runningMean, runningVariance);
        BackwardPass.Run(
            new BackwardRequest<T, TData>
            {
                Input = input, GradOutput = gradOutput, GradInput = gradInput, Layout = layout, Weight = weight,
                Statistics = StatisticsSource.Running, RunningMean = runningMean, RunningVariance = runningVariance, Epsilon = epsilon,
                WeightGradient = weightGradient, BiasGradient = biasGradient,
                Activation = tail.Activation, Residual = tail.Residual, Bias = tail.Bias, ExactFlags = tail.ExactFlags, MaskedGradient = tail.MaskedGradient,
            },
            maxDegreeOfParallelism);
    }
}
