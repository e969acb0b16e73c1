using System;

namespace BatchNorm;

/// <summary>
/// The stateless, allocation-free functional API under the layers: span in, span out, for a channel-major
/// <see cref="BatchNormLayout"/> <c>(N, C, S)</c>. The element type <c>T</c> of each method is <see cref="float"/>
/// or <see cref="double"/>.
/// </summary>
/// <remarks>
/// <para>
/// Per-channel statistics are <see cref="double"/> whatever the element type: they accumulate in <see cref="double"/>
/// around a shift (the channel's first value), so <c>float</c> data with a large mean relative to its spread keeps
/// float's accuracy.
/// </para>
/// <para>
/// Work is split across threads by blocks of channels for the reductions, every channel's sums computed by one thread
/// in a fixed order, and by blocks of samples and channels for the element-wise passes, so results are bit-identical
/// for every degree of parallelism. A <c>maxDegreeOfParallelism</c> of -1 (or 0) uses all processors; small inputs
/// stay on the calling thread. Every sum has a fixed order, the same for every vector width (128, 256 or 512 bits, or
/// none), so results are the same bits on every machine. The methods are safe to call concurrently on disjoint buffers.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// var layout = BatchNormLayout.FromShape([32, 64, 56, 56]);
/// double[] mean = new double[64], variance = new double[64], invStd = new double[64];
/// BatchNormKernels.ForwardTraining&lt;float&gt;(x, y, layout, weight, bias, 1e-5, mean, variance, invStd);
/// BatchNormKernels.UpdateRunningStatistics&lt;float&gt;(runningMean, runningVariance, mean, variance, layout.ValuesPerChannel, 0.1);
/// BatchNormKernels.BackwardTraining&lt;float&gt;(x, dy, dx, layout, weight, mean, invStd, weightGradient, biasGradient);
/// </code>
/// </example>
public static partial class BatchNormKernels
{
    /// <summary>The inverse standard deviation <c>1 / sqrt(variance + epsilon)</c>, and 0 where <c>variance + epsilon</c> is 0 (as PyTorch).</summary>
    /// <param name="variance">The (biased) variance.</param>
    /// <param name="epsilon">The value added to the variance.</param>
    /// <returns>The inverse standard deviation.</returns>
    /// <remarks>
    /// This method effectively computes <c>1 / sqrt(variance + epsilon)</c>; where <c>variance + epsilon</c> is exactly 0
    /// (a constant channel with <c>epsilon = 0</c>) it returns 0, as PyTorch does, so the channel normalizes to its bias.
    /// NaN propagates.
    /// </remarks>
    public static double InverseStandardDeviation(double variance, double epsilon)
    {
        double sum = variance + epsilon;
        return sum == 0 ? 0 : 1 / Math.Sqrt(sum);
    }
}
