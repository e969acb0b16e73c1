using System;
using System.Numerics;
using BatchNorm.Kernels;

namespace BatchNorm;

public static partial class BatchNormKernels
{
#pragma warning disable RS0026 // The overloads differ in their data's element type, so no call is ambiguous.
    /// <summary>
    /// Training forward: normalizes each channel with the batch's own statistics, then applies the affine transform,
    /// and returns the statistics it used.
    /// </summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="input">The input, of length <c>layout.Length</c>.</param>
    /// <param name="output">The output, of length <c>layout.Length</c>; may be the very same memory as <paramref name="input"/>.</param>
    /// <param name="layout">The view <c>(N, C, S)</c> of both tensors.</param>
    /// <param name="weight">Gamma, of length <c>C</c>; empty for 1.</param>
    /// <param name="bias">Beta, of length <c>C</c>; empty for 0.</param>
    /// <param name="epsilon">The value added to the variance; zero or more.</param>
    /// <param name="mean">Receives each channel's batch mean (length <c>C</c>).</param>
    /// <param name="variance">Receives each channel's biased batch variance (length <c>C</c>).</param>
    /// <param name="inverseStandardDeviation">Receives each channel's <c>1 / sqrt(variance + epsilon)</c> (length <c>C</c>).</param>
    /// <param name="maxDegreeOfParallelism">The most threads to use; -1 or 0 for all processors.</param>
    /// <exception cref="ArgumentException">A span's length does not match <paramref name="layout"/>, <paramref name="output"/> partially overlaps <paramref name="input"/>, or a channel holds fewer than two values.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epsilon"/> is negative or NaN.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither <see cref="float"/> nor <see cref="double"/>.</exception>
    /// <remarks>
    /// This method effectively computes <c>y = (x - mean) / sqrt(var + epsilon) * weight + bias</c> per channel, with
    /// <c>mean = Σx / M</c> and the biased <c>var = Σ(x - mean)² / M</c> over the channel's <c>M = N * S</c> values.
    /// NaN or infinity in a channel makes that channel's statistics and outputs NaN; other channels are unaffected.
    /// </remarks>
    public static void ForwardTraining<T>(
        ReadOnlySpan<T> input,
        Span<T> output,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<T> bias,
        double epsilon,
        Span<double> mean,
        Span<double> variance,
        Span<double> inverseStandardDeviation,
        int maxDegreeOfParallelism = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        ForwardTraining<T, T>(input, output, layout, weight, bias, epsilon, mean, variance, inverseStandardDeviation, maxDegreeOfParallelism);

    /// <inheritdoc cref="ForwardTraining{T}(ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{T}, double, Span{double}, Span{double}, Span{double}, int)"/>
    /// <remarks>
    /// The <see cref="Half"/> form of <see cref="ForwardTraining{T}(ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{T}, double, Span{double}, Span{double}, Span{double}, int)"/>, which says what it computes: each element is
    /// widened exactly to <typeparamref name="T"/>, the per-channel sums are the same bits as for <typeparamref name="T"/>
    /// data holding the widened values, and each output is rounded once to <see cref="Half"/> (to nearest, ties to even).
    /// The parameters, statistics and gradients stay <typeparamref name="T"/>.
    /// </remarks>
    public static void ForwardTraining<T>(
        ReadOnlySpan<Half> input,
        Span<Half> output,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<T> bias,
        double epsilon,
        Span<double> mean,
        Span<double> variance,
        Span<double> inverseStandardDeviation,
        int maxDegreeOfParallelism = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        ForwardTraining<T, Half>(input, output, layout, weight, bias, epsilon, mean, variance, inverseStandardDeviation, maxDegreeOfParallelism);

    /// <inheritdoc cref="ForwardTraining{T}(ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{T}, double, Span{double}, Span{double}, Span{double}, int)"/>
    /// <remarks>
    /// The <see cref="BFloat16"/> form of <see cref="ForwardTraining{T}(ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{T}, double, Span{double}, Span{double}, Span{double}, int)"/>, which says what it computes: each element is
    /// widened exactly to <typeparamref name="T"/>, the per-channel sums are the same bits as for <typeparamref name="T"/>
    /// data holding the widened values, and each output is rounded once to <see cref="BFloat16"/> (to nearest, ties to even).
    /// The parameters, statistics and gradients stay <typeparamref name="T"/>.
    /// </remarks>
    public static void ForwardTraining<T>(
        ReadOnlySpan<BFloat16> input,
        Span<BFloat16> output,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<T> bias,
        double epsilon,
        Span<double> mean,
        Span<double> variance,
        Span<double> inverseStandardDeviation,
        int maxDegreeOfParallelism = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        ForwardTraining<T, BFloat16>(input, output, layout, weight, bias, epsilon, mean, variance, inverseStandardDeviation, maxDegreeOfParallelism);

#pragma warning restore RS0026

    /// <summary>The <see cref="ForwardTraining{T}(ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{T}, double, Span{double}, Span{double}, Span{double}, int)"/> of data of element type <typeparamref name="TData"/>: <typeparamref name="T"/> or a 16-bit type.</summary>
    internal static void ForwardTraining<T, TData>(
        ReadOnlySpan<TData> input,
        Span<TData> output,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<T> bias,
        double epsilon,
        Span<double> mean,
        Span<double> variance,
        Span<double> inverseStandardDeviation,
        int maxDegreeOfParallelism = -1,
        scoped in Renormalize<T> renormalization = default,
        scoped in ActivationTail<T, TData> tail = default)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged
    {
        ValidateForward<T, TData>(input, output, layout, weight, bias, epsilon);
        Guard.Length<double>(mean, layout.Channels);
        Guard.Length<double>(variance, layout.Channels);
        Guard.Length<double>(inverseStandardDeviation, layout.Channels);
        Guard.Apart<double, double>(mean, variance);
        Guard.Apart<double, double>(mean, inverseStandardDeviation);
        Guard.Apart<double, double>(variance, inverseStandardDeviation);
        Guard.Apart(mean, input, output);
        Guard.Apart(mean, weight, bias);
        Guard.Apart(variance, input, output);
        Guard.Apart(variance, weight, bias);
        Guard.Apart(inverseStandardDeviation, input, output);
        Guard.Apart(inverseStandardDeviation, weight, bias);
        if (layout.ValuesPerChannel < 2)
        {
            ThrowHelper.ThrowTooFewValues(nameof(input), layout.ValuesPerChannel);
        }

        ForwardPass.Run(
            new ForwardRequest<T, TData>
            {
                Input = input, Output = output, Layout = layout, Weight = weight, Bias = bias, Epsilon = epsilon,
                Statistics = StatisticsSource.Batch, Mean = mean, Variance = variance, InverseStd = inverseStandardDeviation,
                RunningMean = renormalization.RunningMean, RunningVariance = renormalization.RunningVariance,
                Renormalization = renormalization.Corrections, RMax = renormalization.RMax, DMax = renormalization.DMax,
                Activation = tail.Activation, Residual = tail.Residual, ExactFlags = tail.ExactFlags,
            },
            maxDegreeOfParallelism);
    }

    /// <summary>
    /// Batch renormalization for the training forward's core: the running statistics it corrects toward, the clipping,
    /// and where each channel's <c>r</c> and <c>d</c> go (<c>2C</c> values); empty <see cref="Corrections"/> for none.
    /// </summary>
    internal readonly ref struct Renormalize<T>(ReadOnlySpan<T> runningMean, ReadOnlySpan<T> runningVariance, double rMax, double dMax, Span<double> corrections)
    {
        public ReadOnlySpan<T> RunningMean { get; } = runningMean;

        public ReadOnlySpan<T> RunningVariance { get; } = runningVariance;

        public double RMax { get; } = rMax;

        public double DMax { get; } = dMax;

        public Span<double> Corrections { get; } = corrections;
    }
}
