using System;
using System.Numerics;

namespace BatchNorm;

// Ghost batch norm (Hoffer et al., 2017): a training batch normalized as consecutive virtual batches of a few samples.
public abstract partial class BatchNormBase<T>
{
    private int? _virtualBatchSize;
    private double[] _ghostVariance = [];

    /// <summary>
    /// Ghost batch norm: the samples of a training batch per virtual batch, each normalized with its own statistics, or
    /// <see langword="null"/> (the default) for the whole batch (tf-keras: <c>virtual_batch_size</c>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is below 1.</exception>
    /// <remarks>
    /// <para>
    /// A training forward (with batch statistics that update the running ones) cuts the batch of <c>N</c> samples into
    /// <c>N / VirtualBatchSize</c> ghost batches of consecutive samples (<c>N</c> must be a multiple), normalizes each
    /// with its own mean and biased variance, and updates the running statistics once, with the average of the ghost
    /// batches' means and variances (as tf-keras does; the variance unbiased over a ghost batch's count). The backward
    /// differentiates each ghost batch on its own; the parameter gradients add up over them. Evaluation and layers without
    /// running statistics are unaffected.
    /// </para>
    /// <para>
    /// tf-keras groups samples <c>j, j + N / v, j + 2N / v, …</c> into ghost batch <c>j</c>; here ghost batch <c>j</c> is
    /// samples <c>jv</c> to <c>jv + v − 1</c>, as Hoffer et al. describe it (for a shuffled batch, either is a random
    /// subset). A synchronized layer and a renormalized one refuse ghost batches with <see cref="NotSupportedException"/>.
    /// </para>
    /// </remarks>
    public int? VirtualBatchSize
    {
        get => _virtualBatchSize;
        set
        {
            if (value is < 1)
            {
                ThrowHelper.ThrowArgumentOutOfRange(nameof(value), value, "Expected a virtual batch size of 1 or more, or null.");
            }

            _virtualBatchSize = value;
        }
    }

    /// <summary>The ghost-batch training forward: each ghost batch normalized with its own statistics, then one update.</summary>
    private void ForwardGhostBatches<TData>(ReadOnlySpan<TData> input, ReadOnlySpan<int> shape, BatchNormLayout layout, Span<TData> output)
        where TData : unmanaged
    {
        int size = _virtualBatchSize!.Value, channels = NumFeatures;
        if (layout.BatchSize % size != 0)
        {
            ThrowHelper.ThrowArgument(
                nameof(shape), $"Expected a batch size that is a multiple of VirtualBatchSize {size}, but got {layout.BatchSize} in {BatchNormLayout.Format(shape)}.");
        }

        var ghost = new BatchNormLayout(size, channels, layout.SpatialSize, layout.MemoryFormat);
        if (ghost.ValuesPerChannel < 2)
        {
            ThrowHelper.ThrowTooFewValues(nameof(input), ghost.ValuesPerChannel);
        }

        int ghosts = layout.BatchSize / size, length = ghost.Length;
        double[] statistics = _saved.NextGhostStatistics(ghosts);
        ScratchArrays.Ensure(ref _ghostVariance, ghosts * channels);

        // As the plain forward: one fused pass per ghost batch, unless a non-finite batch must be refused before any
        // output is written (then every ghost batch's statistics first).
        bool statisticsFirst = _nonFiniteStatisticsPolicy == NonFiniteStatisticsPolicy.Throw;
        for (int g = 0; g < ghosts; g++)
        {
            Span<double> mean = GhostMean(statistics, g, channels), inverseStd = GhostInverseStd(statistics, g, channels);
            Span<double> variance = _ghostVariance.AsSpan(g * channels, channels);
            if (statisticsFirst)
            {
                BatchNormKernels.ComputeStatistics<T, TData>(input.Slice(g * length, length), ghost, mean, variance, _maxDegreeOfParallelism);
            }
            else
            {
                BatchNormKernels.ForwardTraining<T, TData>(
                    input.Slice(g * length, length), output.Slice(g * length, length), ghost, _weight, _bias, Epsilon, mean, variance, inverseStd, _maxDegreeOfParallelism);
            }
        }

        AverageGhostStatistics(statistics, ghosts);
        if (statisticsFirst)
        {
            ThrowIfNonFinite(_saved.NextMean, _variance, nameof(input));
            for (int g = 0; g < ghosts; g++)
            {
                Span<double> mean = GhostMean(statistics, g, channels), inverseStd = GhostInverseStd(statistics, g, channels);
                for (int c = 0; c < channels; c++)
                {
                    inverseStd[c] = BatchNormKernels.InverseStandardDeviation(_ghostVariance[(g * channels) + c], Epsilon);
                }

                BatchNormKernels.Normalize<T, TData>(
                    input.Slice(g * length, length), output.Slice(g * length, length), ghost, _weight, _bias, mean, inverseStd, _maxDegreeOfParallelism);
            }
        }

        FoldIntoRunningStatistics(ghost.ValuesPerChannel);
        _saved.CommitGhostBatches(output, shape, layout, ghosts);
    }

    /// <summary>The average of the ghost batches' means and biased variances, into the forward's scratch statistics.</summary>
    private void AverageGhostStatistics(double[] statistics, int ghosts)
    {
        int channels = NumFeatures;
        for (int c = 0; c < channels; c++)
        {
            double mean = 0, variance = 0;
            for (int g = 0; g < ghosts; g++)
            {
                mean += statistics[(2 * g * channels) + c];
                variance += _ghostVariance[(g * channels) + c];
            }

            (_saved.NextMean[c], _variance[c]) = (mean / ghosts, variance / ghosts);
        }
    }

    /// <summary>Ghost batch g's mean (and, below, inverse standard deviation) in the saved layout (<see cref="SavedForward{T}.GhostStatistics"/>).</summary>
    private static Span<double> GhostMean(double[] statistics, int g, int channels) => statistics.AsSpan(2 * g * channels, channels);

    /// <inheritdoc cref="GhostMean"/>
    private static Span<double> GhostInverseStd(double[] statistics, int g, int channels) => statistics.AsSpan(((2 * g) + 1) * channels, channels);

    /// <summary>The backward of a ghost-batch forward: each ghost batch's plain backward with its own statistics.</summary>
    private void BackwardGhostBatches<TData>(ReadOnlySpan<TData> input, BatchNormLayout layout, ReadOnlySpan<TData> gradOutput, Span<TData> gradInput)
        where TData : unmanaged
    {
        int ghosts = _saved.GhostBatches, channels = NumFeatures, size = layout.BatchSize / ghosts;
        var ghost = new BatchNormLayout(size, channels, layout.SpatialSize, layout.MemoryFormat);
        int length = ghost.Length;
        double[] statistics = _saved.GhostStatistics;
        for (int g = 0; g < ghosts; g++)
        {
            Span<double> mean = GhostMean(statistics, g, channels), inverseStd = GhostInverseStd(statistics, g, channels);
            BatchNormKernels.BackwardTraining<T, TData>(
                input.Slice(g * length, length),
                gradOutput.Slice(g * length, length),
                gradInput.IsEmpty ? Span<TData>.Empty : gradInput.Slice(g * length, length),
                ghost,
                _weight,
                mean,
                inverseStd,
                _weightGradient,
                _biasGradient,
                _maxDegreeOfParallelism);
        }
    }
}
