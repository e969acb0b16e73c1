using System;
using System.Numerics;
using BatchNorm.Kernels;

namespace BatchNorm;

public static partial class BatchNormKernels
{
    /// <summary>
    /// The reduction half of the training backward: each channel's <c>Σdy</c> and <c>Σdy·(x - mean)</c>, for sums that
    /// are combined elsewhere (for example across replicas) before <see cref="BackwardElementwise{T}"/>.
    /// </summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="input">The forward's input, of length <c>layout.Length</c>.</param>
    /// <param name="gradOutput">The gradient of the loss with respect to the forward's output.</param>
    /// <param name="layout">The view <c>(N, C, S)</c> of the tensors.</param>
    /// <param name="mean">The mean the forward used (length <c>C</c>).</param>
    /// <param name="sumGradOutput">Receives <c>Σdy</c> per channel (length <c>C</c>).</param>
    /// <param name="sumGradOutputCentered">Receives <c>Σdy·(x - mean)</c> per channel (length <c>C</c>).</param>
    /// <param name="maxDegreeOfParallelism">The most threads to use; -1 or 0 for all processors.</param>
    /// <exception cref="ArgumentException">A span's length does not match <paramref name="layout"/>.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither <see cref="float"/> nor <see cref="double"/>.</exception>
    /// <remarks>
    /// This method effectively computes <c>Σdy</c> and <c>Σdy·(x - mean)</c> over each channel's values, in <see cref="double"/>.
    /// The weight gradient is <c>Σdy·(x - mean) * invstd</c> and the bias gradient <c>Σdy</c>.
    /// </remarks>
    public static void BackwardReduce<T>(
        ReadOnlySpan<T> input,
        ReadOnlySpan<T> gradOutput,
        BatchNormLayout layout,
        ReadOnlySpan<double> mean,
        Span<double> sumGradOutput,
        Span<double> sumGradOutputCentered,
        int maxDegreeOfParallelism = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        BackwardReduce<T, T>(input, gradOutput, layout, mean, sumGradOutput, sumGradOutputCentered, maxDegreeOfParallelism);

    /// <summary>The <see cref="BackwardReduce{T}(ReadOnlySpan{T}, ReadOnlySpan{T}, BatchNormLayout, ReadOnlySpan{double}, Span{double}, Span{double}, int)"/> of data of element type <typeparamref name="TData"/>: <typeparamref name="T"/> or a 16-bit type.</summary>
    internal static void BackwardReduce<T, TData>(
        ReadOnlySpan<TData> input,
        ReadOnlySpan<TData> gradOutput,
        BatchNormLayout layout,
        ReadOnlySpan<double> mean,
        Span<double> sumGradOutput,
        Span<double> sumGradOutputCentered,
        int maxDegreeOfParallelism = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged
    {
        ValidateBackward<T, TData>(input, gradOutput, default, layout, default, default, default);
        Guard.Length(mean, layout.Channels);
        Guard.Length<double>(sumGradOutput, layout.Channels);
        Guard.Length<double>(sumGradOutputCentered, layout.Channels);
        Guard.Apart<double, double>(sumGradOutput, sumGradOutputCentered);
        Guard.Apart(sumGradOutput, input, gradOutput);
        Guard.Apart(sumGradOutputCentered, input, gradOutput);
        Guard.Apart(mean, sumGradOutput);
        Guard.Apart(mean, sumGradOutputCentered);
        BackwardPass.Run(
            new BackwardRequest<T, TData>
            {
                Input = input, GradOutput = gradOutput, Layout = layout, Statistics = StatisticsSource.Batch, Mean = mean,
                SumDy = sumGradOutput, SumDyX = sumGradOutputCentered,
            },
            maxDegreeOfParallelism);
    }
}
