using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using BatchNorm.Kernels;

namespace BatchNorm;

public static partial class BatchNormKernels
{
    /// <summary>Blends a batch's statistics into the running statistics.</summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="runningMean">The running mean (length <c>C</c>), updated in place.</param>
    /// <param name="runningVariance">The running variance (length <c>C</c>), updated in place.</param>
    /// <param name="mean">The batch mean (length <c>C</c>).</param>
    /// <param name="variance">The biased batch variance (length <c>C</c>), as <see cref="ForwardTraining{T}(ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{T}, double, Span{double}, Span{double}, Span{double}, int)"/> returns it.</param>
    /// <param name="valuesPerChannel">The count <c>M</c> the batch statistics were taken over; two or more.</param>
    /// <param name="factor">The weight of the batch, in [0, 1]: the momentum, or <c>1 / numBatchesTracked</c> for a cumulative average.</param>
    /// <exception cref="ArgumentException">A span's length differs from <paramref name="runningMean"/>'s, or the running spans overlap.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="valuesPerChannel"/> is below 2, or <paramref name="factor"/> is outside [0, 1].</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither <see cref="float"/> nor <see cref="double"/>.</exception>
    /// <remarks>
    /// This method effectively computes <c>runningMean = (1 - factor) * runningMean + factor * mean</c> and
    /// <c>runningVariance = (1 - factor) * runningVariance + factor * variance * M / (M - 1)</c> (the unbiased
    /// variance, as PyTorch), in <see cref="double"/>. NaN statistics propagate into the running statistics.
    /// </remarks>
    public static void UpdateRunningStatistics<T>(
        Span<T> runningMean,
        Span<T> runningVariance,
        ReadOnlySpan<double> mean,
        ReadOnlySpan<double> variance,
        int valuesPerChannel,
        double factor)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        UpdateRunningStatistics(runningMean, runningVariance, mean, variance, valuesPerChannel, factor, RunningVarianceEstimator.Unbiased);

    /// <summary>Blends a batch's statistics into the running statistics, the variance as <paramref name="estimator"/> says.</summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="runningMean">The running mean (length <c>C</c>), updated in place.</param>
    /// <param name="runningVariance">The running variance (length <c>C</c>), updated in place.</param>
    /// <param name="mean">The batch mean (length <c>C</c>).</param>
    /// <param name="variance">The biased batch variance (length <c>C</c>).</param>
    /// <param name="valuesPerChannel">The count <c>M</c> the batch statistics were taken over: two or more for the unbiased estimator, one or more for the biased one.</param>
    /// <param name="factor">The weight of the batch, in [0, 1].</param>
    /// <param name="estimator">The variance blended in: unbiased (<c>variance * M / (M - 1)</c>, PyTorch) or biased (<c>variance</c>, Keras).</param>
    /// <exception cref="ArgumentException">A span's length differs from <paramref name="runningMean"/>'s, or the running spans overlap.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="valuesPerChannel"/> is too small for the estimator, <paramref name="factor"/> is outside [0, 1], or <paramref name="estimator"/> is not defined.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither <see cref="float"/> nor <see cref="double"/>.</exception>
    /// <remarks>
    /// This method effectively computes <c>runningMean = (1 - factor) * runningMean + factor * mean</c> and
    /// <c>runningVariance = (1 - factor) * runningVariance + factor * estimate</c>, in <see cref="double"/>.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void UpdateRunningStatistics<T>(
        Span<T> runningMean,
        Span<T> runningVariance,
        ReadOnlySpan<double> mean,
        ReadOnlySpan<double> variance,
        int valuesPerChannel,
        double factor,
        RunningVarianceEstimator estimator)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Guard.SupportedType<T>();
        int channels = runningMean.Length;
        Guard.Length<T>(runningVariance, channels);
        Guard.Length(mean, channels);
        Guard.Length(variance, channels);
        Guard.Apart<T, T>(runningMean, runningVariance);
        Guard.Apart<T, double, double>(runningMean, mean, variance);
        Guard.Apart<T, double, double>(runningVariance, mean, variance);
        if (estimator is not (RunningVarianceEstimator.Unbiased or RunningVarianceEstimator.Biased))
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(estimator), estimator, "Expected Unbiased or Biased.");
        }

        bool unbiased = estimator == RunningVarianceEstimator.Unbiased;
        if (valuesPerChannel < (unbiased ? 2 : 1))
        {
            ThrowHelper.ThrowArgumentOutOfRange(
                nameof(valuesPerChannel), valuesPerChannel, unbiased ? "Expected two or more values per channel for an unbiased variance." : "Expected one or more values per channel.");
        }

        if (!(factor >= 0 && factor <= 1))
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(factor), factor, "Expected a factor in [0, 1].");
        }

        double unbias = unbiased ? valuesPerChannel / (valuesPerChannel - 1.0) : 1;
        for (int c = 0; c < channels; c++)
        {
            runningMean[c] = T.CreateTruncating((1 - factor) * double.CreateTruncating(runningMean[c]) + factor * mean[c]);
            runningVariance[c] = T.CreateTruncating((1 - factor) * double.CreateTruncating(runningVariance[c]) + factor * variance[c] * unbias);
        }
    }
}
