using System;
using System.Numerics;
using BatchNorm.Kernels;

namespace BatchNorm;

public static partial class BatchNormKernels
{
    /// <summary>
    /// The element half of the training backward: the input gradient from sums that <see cref="BackwardReduce{T}"/>
    /// produced and that may have been combined over more values than this input holds.
    /// </summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="input">The forward's input, of length <c>layout.Length</c>.</param>
    /// <param name="gradOutput">The gradient of the loss with respect to the forward's output.</param>
    /// <param name="gradInput">Overwritten with the input gradient; may be the very same memory as <paramref name="gradOutput"/> or <paramref name="input"/>.</param>
    /// <param name="layout">The view <c>(N, C, S)</c> of the tensors.</param>
    /// <param name="weight">Gamma, of length <c>C</c>; empty for 1.</param>
    /// <param name="mean">The mean the forward used (length <c>C</c>).</param>
    /// <param name="inverseStandardDeviation">The inverse standard deviation the forward used (length <c>C</c>).</param>
    /// <param name="sumGradOutput"><c>Σdy</c> per channel over all <paramref name="count"/> values.</param>
    /// <param name="sumGradOutputCentered"><c>Σdy·(x - mean)</c> per channel over all <paramref name="count"/> values.</param>
    /// <param name="count">The number of values per channel the statistics and sums were taken over; one or more.</param>
    /// <param name="maxDegreeOfParallelism">The most threads to use; -1 or 0 for all processors.</param>
    /// <exception cref="ArgumentException">A span's length does not match <paramref name="layout"/>, or <paramref name="gradInput"/> partially overlaps another span.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is below 1.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither <see cref="float"/> nor <see cref="double"/>.</exception>
    /// <remarks>
    /// This method effectively computes <c>dx = weight * invstd * (dy - Σdy / count - (x - mean) * invstd² * Σdy·(x - mean) / count)</c>.
    /// </remarks>
    public static void BackwardElementwise<T>(
        ReadOnlySpan<T> input,
        ReadOnlySpan<T> gradOutput,
        Span<T> gradInput,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<double> mean,
        ReadOnlySpan<double> inverseStandardDeviation,
        ReadOnlySpan<double> sumGradOutput,
        ReadOnlySpan<double> sumGradOutputCentered,
        long count,
        int maxDegreeOfParallelism = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        BackwardElementwise<T, T>(input, gradOutput, gradInput, layout, weight, mean, inverseStandardDeviation, sumGradOutput, sumGradOutputCentered, count, maxDegreeOfParallelism);

    /// <summary>The <see cref="BackwardElementwise{T}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{double}, ReadOnlySpan{double}, ReadOnlySpan{double}, ReadOnlySpan{double}, long, int)"/> of data of element type <typeparamref name="TData"/>: <typeparamref name="T"/> or a 16-bit type.</summary>
    internal static void BackwardElementwise<T, TData>(
        ReadOnlySpan<TData> input,
        ReadOnlySpan<TData> gradOutput,
        Span<TData> gradInput,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<double> mean,
        ReadOnlySpan<double> inverseStandardDeviation,
        ReadOnlySpan<double> sumGradOutput,
        ReadOnlySpan<double> sumGradOutputCentered,
        long count,
        int maxDegreeOfParallelism = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged
    {
        ValidateBackward<T, TData>(input, gradOutput, gradInput, layout, weight, default, default);
        Guard.Length(gradInput, layout.Length);
        Guard.Length(mean, layout.Channels);
        Guard.Length(inverseStandardDeviation, layout.Channels);
        Guard.Length(sumGradOutput, layout.Channels);
        Guard.Length(sumGradOutputCentered, layout.Channels);
        Guard.Apart(gradInput, mean, inverseStandardDeviation);
        Guard.Apart(gradInput, sumGradOutput, sumGradOutputCentered);
        if (count < 1)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(count), count, "Expected a count of one or more.");
        }

        BackwardPass.Run(
            new BackwardRequest<T, TData>
            {
                Input = input, GradOutput = gradOutput, GradInput = gradInput, Layout = layout, Weight = weight,
                Statistics = StatisticsSource.Batch, Mean = mean, InverseStd = inverseStandardDeviation,
                Sums = SumsSource.Given, GivenSumDy = sumGradOutput, GivenSumDyX = sumGradOutputCentered, Count = count,
            },
            maxDegreeOfParallelism);
    }
}
