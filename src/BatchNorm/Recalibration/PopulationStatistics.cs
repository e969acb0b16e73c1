using System;

namespace BatchNorm;

/// <summary>
/// The statistics a layer gathers while <see cref="PreciseBatchNorm.Recalibrate{T}"/> runs: each batch's count, mean and
/// biased variance per channel, merged with Chan's formula (pooled) and summed (for the batch average).
/// </summary>
internal sealed class PopulationStatistics(int channels)
{
    private readonly double[] _mean = new double[channels];
    private readonly double[] _m2 = new double[channels];
    private readonly double[] _meanSum = new double[channels];
    private readonly double[] _varianceSum = new double[channels];
    private readonly double[] _biasedVarianceSum = new double[channels];

    /// <summary>The values per channel seen so far.</summary>
    public long Count { get; private set; }

    /// <summary>The batches seen so far.</summary>
    public int Batches { get; private set; }

    /// <summary>Merges a batch of <paramref name="count"/> values per channel with these means and biased variances.</summary>
    public void Add(long count, ReadOnlySpan<double> mean, ReadOnlySpan<double> variance)
    {
        long total = Count + count;
        for (int c = 0; c < _mean.Length; c++)
        {
            double delta = mean[c] - _mean[c];
            _mean[c] += delta * count / total;
            _m2[c] += (variance[c] * count) + (delta * delta * Count * count / total);
            _meanSum[c] += mean[c];
            _varianceSum[c] += Unbiased(variance[c], count);
            _biasedVarianceSum[c] += variance[c];
        }

        Count = total;
        Batches++;
    }

    /// <summary>Channel c's mean and variance (unbiased, or biased when <paramref name="biased"/>) as <paramref name="statistics"/> says.</summary>
    public (double Mean, double Variance) Result(int c, PreciseStatistics statistics, bool biased) =>
        statistics == PreciseStatistics.Pooled
            ? (_mean[c], biased ? _m2[c] / Count : Unbiased(_m2[c] / Count, Count))
            : (_meanSum[c] / Batches, (biased ? _biasedVarianceSum[c] : _varianceSum[c]) / Batches);

    // A batch of one value has no unbiased variance; its biased one (0) stands in, as the layer's SkipUpdate policy does.
    private static double Unbiased(double variance, long count) => count > 1 ? variance * count / (count - 1) : variance;
}
