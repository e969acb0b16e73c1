using System;
using System.Numerics;

namespace BatchNorm;

// How a training forward uses and updates the running statistics: the running-variance estimator of the framework
// conventions, frozen statistics, and batches too small for statistics.
public abstract partial class BatchNormBase<T>
{
    private bool _frozenStatistics;

    private protected BatchNormBase(int numFeatures, BatchNormConvention convention, int minRank, int maxRank, string expectedShape)
        : this(numFeatures, NotNull(convention).Epsilon, convention.Momentum, affine: true, trackRunningStatistics: true, minRank, maxRank, expectedShape)
    {
        RunningVarianceEstimator = convention.Estimator;
    }

    /// <summary>Which variance a training forward blends into <see cref="RunningVariance"/>: the unbiased one (PyTorch, the default) or the biased one (Keras, TensorFlow, Flax, ONNX).</summary>
    /// <remarks>
    /// Configuration, not state: a checkpoint holds the running variance, not how it was estimated. The variance that
    /// normalizes a training batch is the biased one either way.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined <see cref="BatchNorm.RunningVarianceEstimator"/>.</exception>
    public RunningVarianceEstimator RunningVarianceEstimator
    {
        get;
        set
        {
            Guard.Defined(value);
            field = value;
        }
    }

    /// <summary>
    /// Whether the running statistics are frozen: a training <c>Forward</c> then normalizes with them, never updates them
    /// (nor <see cref="NumBatchesTracked"/>), and its <c>Backward</c> is the evaluation backward, while the weight and
    /// bias still learn (fine-tuning with frozen batch norm, detectron2's <c>FrozenBatchNorm2d</c> with trainable
    /// parameters). <see cref="Train(bool)"/> does not change it, so training a whole model never unfreezes a layer.
    /// </summary>
    /// <exception cref="InvalidOperationException">Set to <see langword="true"/> on a layer that keeps no running statistics (<see cref="TrackRunningStatistics"/> is <see langword="false"/>): there is nothing to freeze.</exception>
    /// <remarks>A frozen layer with a <see cref="Communicator"/> does not synchronize: its statistics are already the same on every replica.</remarks>
    public bool FrozenStatistics
    {
        get => _frozenStatistics;
        set
        {
            if (value && !TrackRunningStatistics)
            {
                ThrowHelper.ThrowInvalidOperation("FrozenStatistics needs running statistics to freeze, but this layer was created with trackRunningStatistics: false.");
            }

            _frozenStatistics = value;
        }
    }

    /// <summary>What a forward does when a channel has fewer than two values under batch statistics (default: throw, as PyTorch).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined <see cref="BatchNorm.SmallBatchPolicy"/>.</exception>
    /// <remarks>Consulted by a forward that would use batch statistics: training, or evaluation without running statistics.</remarks>
    public SmallBatchPolicy SmallBatchPolicy
    {
        get;
        set
        {
            Guard.Defined(value);
            field = value;
        }
    }

    /// <summary>
    /// How a forward with batch statistics over <paramref name="count"/> values per channel goes on under
    /// <see cref="SmallBatchPolicy"/>; throws (naming <paramref name="paramName"/>) where the policy has no way.
    /// </summary>
    private SmallBatch SmallBatchWay(long count, string paramName)
    {
        if (count >= 2)
        {
            return SmallBatch.Normal;
        }

        if (SmallBatchPolicy == SmallBatchPolicy.UseRunningStatistics && TrackRunningStatistics)
        {
            return SmallBatch.RunningStatistics;
        }

        if (SmallBatchPolicy == SmallBatchPolicy.SkipUpdate && count == 1)
        {
            return SmallBatch.NoUpdate;
        }

        ThrowHelper.ThrowTooFewValues(paramName, count);
        return default;
    }

    /// <summary>While <see cref="PreciseBatchNorm.Recalibrate{T}"/> runs: where training forwards gather their batch statistics instead of updating the running ones.</summary>
    internal PopulationStatistics? Recalibration { get; set; }

    /// <summary>Writes what <see cref="Recalibration"/> gathered into the running statistics.</summary>
    internal void WritePopulationStatistics(PreciseStatistics statistics)
    {
        bool biased = RunningVarianceEstimator == RunningVarianceEstimator.Biased;
        for (int c = 0; c < NumFeatures; c++)
        {
            (double mean, double variance) = Recalibration!.Result(c, statistics, biased);
            _runningMean[c] = T.CreateTruncating(mean);
            _runningVariance[c] = T.CreateTruncating(variance);
        }
    }

    /// <summary>Whether the next Forward normalizes with the batch's statistics: in training (unless frozen), or when no running statistics are kept.</summary>
    private bool UsesBatchStatistics => (IsTraining && !_frozenStatistics) || !TrackRunningStatistics;

    private static BatchNormConvention NotNull(BatchNormConvention convention)
    {
        ArgumentNullException.ThrowIfNull(convention);
        return convention;
    }

    /// <summary>The ways <see cref="SmallBatchWay"/> chooses.</summary>
    private enum SmallBatch
    {
        /// <summary>Two or more values: batch statistics, folded into the running ones when training with them.</summary>
        Normal,

        /// <summary>The running statistics for this call, as in evaluation.</summary>
        RunningStatistics,

        /// <summary>Batch statistics, not folded in.</summary>
        NoUpdate,
    }
}
