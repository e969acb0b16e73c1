using System;
using System.Diagnostics;

namespace BatchNorm.Distributed;

/// <summary>
/// Per-channel <c>(count, mean, M2)</c> triples, as the replicas of a synchronized layer exchange them, and their merge
/// with Chan's parallel formula.
/// </summary>
/// <remarks>
/// A contribution of <c>C</c> channels is <c>3C</c> doubles: the counts at <c>[0, C)</c>, the means at <c>[C, 2C)</c>
/// and the sums of squared deviations <c>M2 = variance * count</c> at <c>[2C, 3C)</c>. A count of -1 marks a replica
/// that rejected its input, so that its peers need not wait for it to fail alone.
/// </remarks>
internal static class StatisticsMerge
{
    /// <summary>The count that marks a replica whose input was rejected.</summary>
    public const double Rejected = -1;

    /// <summary>The number of doubles per channel in a contribution.</summary>
    public const int ValuesPerChannel = 3;

    /// <summary>Writes one replica's contribution.</summary>
    public static void Pack(Span<double> contribution, long count, ReadOnlySpan<double> mean, ReadOnlySpan<double> variance)
    {
        int channels = mean.Length;
        Debug.Assert(contribution.Length == ValuesPerChannel * channels && variance.Length == channels);
        contribution.Slice(0, channels).Fill(count);
        if (count == 0)
        {
            contribution.Slice(channels).Clear();
            return;
        }

        mean.CopyTo(contribution.Slice(channels, channels));
        System.Numerics.Tensors.TensorPrimitives.Multiply(variance, (double)count, contribution.Slice(2 * channels, channels));
    }

    /// <summary>Writes a contribution that marks this replica's input as rejected.</summary>
    public static void PackRejected(Span<double> contribution)
    {
        contribution.Clear();
        contribution.Slice(0, contribution.Length / ValuesPerChannel).Fill(Rejected);
    }

    /// <summary>Returns the rank of the first replica whose contribution is marked rejected, or -1.</summary>
    public static int FirstRejected(ReadOnlySpan<double> gathered, int size)
    {
        int stride = gathered.Length / size;
        for (int r = 0; r < size; r++)
        {
            if (gathered[r * stride] == Rejected)
            {
                return r;
            }
        }

        return -1;
    }

    /// <summary>
    /// Merges the replicas' contributions in rank order with Chan's formula: the same input gives the same bits on
    /// every replica. Returns the global count; writes the global mean and biased variance (0 and 0 for an empty total).
    /// </summary>
    public static long Merge(ReadOnlySpan<double> gathered, int size, Span<double> mean, Span<double> variance)
    {
        int channels = mean.Length;
        int stride = ValuesPerChannel * channels;
        Debug.Assert(gathered.Length == stride * size && variance.Length == channels);
        long total = 0;
        for (int c = 0; c < channels; c++)
        {
            double n = 0, m = 0, m2 = 0;
            for (int r = 0; r < size; r++)
            {
                ReadOnlySpan<double> part = gathered.Slice(r * stride, stride);
                double nb = part[c];
                if (nb == 0)
                {
                    continue;
                }

                double mb = part[channels + c];
                double m2b = part[(2 * channels) + c];
                if (n == 0)
                {
                    (n, m, m2) = (nb, mb, m2b);
                    continue;
                }

                double sum = n + nb;
                double delta = mb - m;
                m += delta * (nb / sum);
                m2 += m2b + (delta * delta * (n * nb / sum));
                n = sum;
            }

            mean[c] = m;
            variance[c] = n == 0 ? 0 : m2 / n;
            total = (long)n;
        }

        return total;
    }
}
