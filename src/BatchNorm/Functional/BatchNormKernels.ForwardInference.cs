using System;
using System.Numerics;
using BatchNorm.Kernels;

namespace BatchNorm;

public static partial class BatchNormKernels
{
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
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ValidateForward<T>(input, output, layout, weight, bias, epsilon);
        Guard.Length(runningMean, layout.Channels);
        Guard.Length(runningVariance, layout.Channels);
        Guard.Apart(runningMean, output);
        Guard.Apart(runningVariance, output);
        ForwardPass.Run(
            new ForwardRequest<T>
            {
                Input = input, Output = output, Layout = layout, Weight = weight, Bias = bias, Epsilon = epsilon,
                Statistics = StatisticsSource.Running, RunningMean = runningMean, RunningVariance = runningVariance,
            },
            maxDegreeOfParallelism);
    }
}
