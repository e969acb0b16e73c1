using System;
using System.Collections.Generic;
using System.Numerics;

namespace BatchNorm;

/// <summary>
/// Precise-BN (as fvcore and detectron2 do it): recomputes layers' running statistics as the population statistics of
/// a set of batches, rather than the exponential average that training leaves, which lags behind the weights.
/// </summary>
public static class PreciseBatchNorm
{
    /// <summary>
    /// Runs <paramref name="batches"/> forward passes (<paramref name="forward"/> is given the batch index) with every
    /// layer of <paramref name="layers"/> in training mode, gathering each layer's batch statistics instead of updating
    /// its running statistics, then writes the population statistics into <see cref="BatchNormBase{T}.RunningMean"/> and
    /// <see cref="BatchNormBase{T}.RunningVariance"/> and restores each layer's mode.
    /// </summary>
    /// <typeparam name="T">The layers' element type.</typeparam>
    /// <param name="layers">The layers to recalibrate: each keeps running statistics and is not frozen; no layer twice.</param>
    /// <param name="batches">How many batches to run; one or more.</param>
    /// <param name="forward">Runs the model's forward on batch <c>k</c> (no backward is needed); it must call every layer's <c>Forward</c> at least once.</param>
    /// <param name="statistics">The exact pooled statistics of all the values (the default), or fvcore's average of the batches' statistics.</param>
    /// <exception cref="ArgumentNullException"><paramref name="layers"/>, one of them, or <paramref name="forward"/> is null.</exception>
    /// <exception cref="ArgumentException">A layer keeps no running statistics, has <see cref="BatchNormBase{T}.FrozenStatistics"/> set, is lazy without a channel count yet, or appears twice.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batches"/> is below 1, or <paramref name="statistics"/> is not defined.</exception>
    /// <exception cref="InvalidOperationException">A layer saw no batch (the message names its index).</exception>
    /// <remarks>
    /// <para>
    /// Pooled: per channel, each batch's count, mean and biased variance are merged with Chan's formula, and the running
    /// variance receives the variance of all <c>N</c> values, unbiased by <c>N / (N - 1)</c> (or biased, as the layer's
    /// <see cref="BatchNormBase{T}.RunningVarianceEstimator"/> says). Batch average: the mean of the batches' means and of
    /// their unbiased variances (biased ones where the layer's estimator is biased). <see cref="BatchNormBase{T}.NumBatchesTracked"/>
    /// is left as it is. A synchronized layer gathers its global statistics, so every replica gets the same result.
    /// </para>
    /// <para>
    /// Atomic: when <paramref name="forward"/> throws, or a layer saw no batch, every layer is left as it was (running
    /// statistics, mode) and the exception propagates. Non-finite batch statistics follow each layer's
    /// <see cref="BatchNormBase{T}.NonFiniteStatisticsPolicy"/>: skipped under <c>SkipUpdate</c>, rejected under <c>Throw</c>.
    /// </para>
    /// </remarks>
    /// <example>
    /// <code>
    /// PreciseBatchNorm.Recalibrate(model.BatchNormLayers, 200, k =&gt; model.Forward(trainingBatches[k]));
    /// </code>
    /// </example>
    public static void Recalibrate<T>(IReadOnlyList<BatchNormBase<T>> layers, int batches, Action<int> forward, PreciseStatistics statistics = PreciseStatistics.Pooled)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Validate(layers, batches, forward, statistics);
        bool[] training = new bool[layers.Count];
        for (int i = 0; i < layers.Count; i++)
        {
            training[i] = layers[i].IsTraining;
            layers[i].Recalibration = new PopulationStatistics(layers[i].NumFeatures);
            layers[i].Train();
        }

        try
        {
            for (int k = 0; k < batches; k++)
            {
                forward(k);
            }

            for (int i = 0; i < layers.Count; i++)
            {
                if (layers[i].Recalibration!.Batches == 0)
                {
                    ThrowHelper.ThrowInvalidOperation($"Layer {i} saw no batch in {batches} forward passes; nothing was changed.");
                }
            }

            for (int i = 0; i < layers.Count; i++)
            {
                layers[i].WritePopulationStatistics(statistics);
            }
        }
        finally
        {
            for (int i = 0; i < layers.Count; i++)
            {
                layers[i].Recalibration = null;
                layers[i].Train(training[i]);
            }
        }
    }

    private static void Validate<T>(IReadOnlyList<BatchNormBase<T>> layers, int batches, Action<int> forward, PreciseStatistics statistics)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(forward);
        if (batches < 1)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(batches), batches, "Expected one or more batches.");
        }

        Guard.Defined(statistics);

        var seen = new HashSet<BatchNormBase<T>>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < layers.Count; i++)
        {
            BatchNormBase<T> layer = layers[i] ?? throw new ArgumentNullException(nameof(layers), $"Layer {i} is null.");
            string? problem = layer.NumFeatures == 0 ? "is lazy and has no channel count yet"
                : !layer.TrackRunningStatistics ? "keeps no running statistics"
                : layer.FrozenStatistics ? "has frozen statistics"
                : !seen.Add(layer) ? "appears twice"
                : null;
            if (problem is not null)
            {
                ThrowHelper.ThrowArgument(nameof(layers), $"Layer {i} {problem}, so it cannot be recalibrated; nothing was changed.");
            }
        }
    }
}
