using System;
using System.Runtime.CompilerServices;
using System.Numerics;
using BatchNorm.Kernels;

namespace BatchNorm;

public abstract partial class BatchNormBase<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Normalizes <paramref name="input"/> into <paramref name="output"/> and saves what <see cref="Backward(ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, Span{T})"/> needs.</summary>
    /// <param name="input">Contiguous data of the logical shape <paramref name="shape"/>, laid out as <see cref="MemoryFormat"/> says (row-major <c>(N, C, d1, …)</c> by default, <c>(N, d1, …, C)</c> channels-last).</param>
    /// <param name="shape">The shape <c>(N, C, spatial…)</c>, of a rank this layer accepts, with <c>C = NumFeatures</c>.</param>
    /// <param name="output">Receives the result; the same length as <paramref name="input"/>, and may be the very same memory (then differentiate with <see cref="BackwardFromOutput(ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, Span{T})"/>: the input is gone).</param>
    /// <exception cref="ArgumentException">The shape has the wrong rank, a negative dimension, a channel count other than <see cref="NumFeatures"/> or more than <see cref="int.MaxValue"/> elements; a span's length does not match it; <paramref name="output"/> partially overlaps <paramref name="input"/>; batch statistics are needed and a channel has fewer than two values (synchronized: in the global batch); or <see cref="NonFiniteStatisticsPolicy"/> is <see cref="NonFiniteStatisticsPolicy.Throw"/> and a training batch's statistics are not finite.</exception>
    /// <exception cref="InvalidOperationException">Another thread is in a <c>Forward</c> or <c>Backward</c> of this layer (it is not safe for concurrent use); or, synchronized training only, a peer replica rejected its arguments, or the <see cref="Communicator"/>'s group failed or was disposed (then an <see cref="ObjectDisposedException"/> naming the communicator).</exception>
    /// <remarks>
    /// <para>
    /// In training, this method effectively computes <c>y = (x - mean) / sqrt(var + eps) * weight + bias</c> with the
    /// batch mean and biased variance per channel, then, when <see cref="TrackRunningStatistics"/>, increments
    /// <see cref="NumBatchesTracked"/> and blends the batch mean and unbiased variance into the running statistics with
    /// factor <see cref="Momentum"/> (or <c>1 / NumBatchesTracked</c> when it is null). In evaluation, the running
    /// statistics replace the batch ones (the batch ones are used when none are tracked).
    /// </para>
    /// <para>
    /// Synchronized mode: while training with a <see cref="Communicator"/>, <c>mean</c> and <c>var</c> are those of the
    /// global batch of all replicas (merged with Chan's formula, identical on every replica), and the running statistics
    /// are unbiased with the global count; every replica must call this method. In evaluation the layer never synchronizes.
    /// </para>
    /// <para>
    /// NaN or infinity in a channel under batch statistics makes that channel's outputs NaN, and other channels are
    /// unaffected; under running statistics NaN propagates element-wise. Statistics are computed in <see cref="double"/>
    /// around a shift (the channel's first value), so a large mean does not cancel in <see cref="float"/>; results are
    /// bit-identical for every <see cref="MaxDegreeOfParallelism"/>, vector width and machine.
    /// </para>
    /// </remarks>
    public void Forward(ReadOnlySpan<T> input, ReadOnlySpan<int> shape, Span<T> output) => Forward(input, shape, output, MemoryFormat);

    /// <summary>
    /// The span <c>Forward</c> on data in <paramref name="memoryFormat"/>, whatever <see cref="MemoryFormat"/> says (the
    /// tensor overloads' way in). A lazy layer's first forward that throws leaves it lazy, whatever check threw.
    /// </summary>
    private void Forward<TData>(ReadOnlySpan<TData> input, ReadOnlySpan<int> shape, Span<TData> output, BatchNormMemoryFormat memoryFormat)
        where TData : unmanaged => Forward(input, shape, output, memoryFormat, new Residual<TData>());

    /// <summary>The forward of every overload, with a residual to add before the <see cref="Activation"/> or none.</summary>
    private void Forward<TData>(ReadOnlySpan<TData> input, ReadOnlySpan<int> shape, Span<TData> output, BatchNormMemoryFormat memoryFormat, Residual<TData> residual)
        where TData : unmanaged
    {
        EnterCall(ForwardCall);
        bool lazy = NumFeatures == 0;
        try
        {
            ForwardOnce(input, shape, output, memoryFormat, residual);
        }
        catch when (lazy)
        {
            Allocate(0);
            throw;
        }
        finally
        {
            ExitCall();
        }
    }

    private void ForwardOnce<TData>(ReadOnlySpan<TData> input, ReadOnlySpan<int> shape, Span<TData> output, BatchNormMemoryFormat memoryFormat, Residual<TData> residual)
        where TData : unmanaged
    {
        bool fusedTail = _activation != BatchNormActivation.None || residual.Present;
        if (SynchronizesForward)
        {
            if (fusedTail)
            {
                ThrowHelper.ThrowNotSupported("A fused Activation and ForwardWithResidual are not supported on a synchronized layer; set Activation to None, or Communicator to null.");
            }

            if (_renormalization is not null || _virtualBatchSize is not null)
            {
                ThrowHelper.ThrowNotSupported(
                    "Batch renormalization and ghost batches (VirtualBatchSize) are not supported on a synchronized layer; set them, or Communicator, to null.");
            }

            ForwardSynchronized(input, shape, output, memoryFormat);
            return;
        }

        BatchNormLayout layout = ValidateShape(shape, memoryFormat);
        BatchNormKernels.ValidateForward<T, TData>(input, output, layout, _weight, _bias, Epsilon);
        residual.Validate(input, output);
        EnsureFeatures(layout.Channels);
        var tail = new ActivationTail<T, TData> { Activation = _activation, Residual = residual.Values, ExactFlags = _saved.NextExactFlags };

        // Before the output is written: it may be the very memory of the input.
        _saved.TakeInput(input, layout);
        _saved.TakeTail(_activation, residual.Present);
        SmallBatch way = UsesBatchStatistics ? SmallBatchWay(layout.ValuesPerChannel, nameof(input)) : SmallBatch.RunningStatistics;
        if (way == SmallBatch.RunningStatistics)
        {
            BatchNormKernels.ForwardInference<T, TData>(
                input, output, layout, _weight, _bias, _runningMean, _runningVariance, Epsilon, _maxDegreeOfParallelism, tail);
            _saved.CommitRunning(output, shape, layout);
            return;
        }

        bool update = IsTraining && TrackRunningStatistics && way == SmallBatch.Normal;
        if (update && (_renormalization is not null || _virtualBatchSize is not null))
        {
            if (fusedTail)
            {
                ThrowHelper.ThrowNotSupported(
                    "A fused Activation and ForwardWithResidual are not supported with batch renormalization or ghost batches (VirtualBatchSize); set Activation to None.");
            }

            if (_renormalization is not null && _virtualBatchSize is not null)
            {
                ThrowHelper.ThrowNotSupported("Batch renormalization and ghost batches (VirtualBatchSize) together are not supported; set one of them to null.");
            }

            if (_renormalization is not null)
            {
                ForwardRenormalized(input, shape, layout, output);
            }
            else
            {
                ForwardGhostBatches(input, shape, layout, output);
            }

            return;
        }

        bool rejectNonFinite = update && _nonFiniteStatisticsPolicy == NonFiniteStatisticsPolicy.Throw;
        if (rejectNonFinite || way == SmallBatch.NoUpdate)
        {
            // Statistics first: a non-finite batch is rejected before the output is written, and one value per channel
            // (which the fused kernel refuses) is normalized.
            BatchNormKernels.ComputeStatistics<T, TData>(input, layout, _saved.NextMean, _variance, _maxDegreeOfParallelism);
            if (rejectNonFinite)
            {
                ThrowIfNonFinite(_saved.NextMean, _variance, nameof(input));
            }

            NormalizeWithBatchStatistics(input, layout, output, tail);
        }
        else
        {
            // Validates every argument before it writes anything.
            BatchNormKernels.ForwardTraining<T, TData>(
                input, output, layout, _weight, _bias, Epsilon, _saved.NextMean, _variance, _saved.NextInverseStd, _maxDegreeOfParallelism, default, tail);
        }

        if (update)
        {
            FoldIntoRunningStatistics(layout.ValuesPerChannel);
        }

        _saved.CommitBatch(output, shape, layout, communicator: null, globalCount: 0);
    }

    /// <summary>Normalizes with the batch statistics already in the scratch mean and variance (their inverse std first), then the fused <paramref name="tail"/>.</summary>
    private void NormalizeWithBatchStatistics<TData>(ReadOnlySpan<TData> input, BatchNormLayout layout, Span<TData> output, scoped in ActivationTail<T, TData> tail = default)
        where TData : unmanaged
    {
        for (int c = 0; c < NumFeatures; c++)
        {
            _saved.NextInverseStd[c] = BatchNormKernels.InverseStandardDeviation(_variance[c], Epsilon);
        }

        BatchNormKernels.Normalize<T, TData>(input, output, layout, _weight, _bias, _saved.NextMean, _saved.NextInverseStd, _maxDegreeOfParallelism, tail);
    }

    /// <summary>
    /// Folds the batch statistics just computed (over <paramref name="count"/> values per channel) into the running
    /// statistics, as <see cref="NonFiniteStatisticsPolicy"/> says.
    /// </summary>
    private void FoldIntoRunningStatistics(int count)
    {
        bool finite = AllFinite(_saved.NextMean, _variance);
        if (!finite)
        {
            _nonFiniteBatchCount++;
        }

        if ((finite || _nonFiniteStatisticsPolicy == NonFiniteStatisticsPolicy.Propagate) && Recalibration is { } population)
        {
            population.Add(count, _saved.NextMean, _variance); // PreciseBatchNorm gathers instead of updating
        }
        else if (finite || _nonFiniteStatisticsPolicy == NonFiniteStatisticsPolicy.Propagate)
        {
            // Saturates rather than wrapping negative; 1 / long.MaxValue is 0 for all purposes anyway.
            _numBatchesTracked += _numBatchesTracked < long.MaxValue ? 1 : 0;
            double factor = Momentum ?? 1.0 / _numBatchesTracked;
            BatchNormKernels.UpdateRunningStatistics<T>(_runningMean, _runningVariance, _saved.NextMean, _variance, count, factor, RunningVarianceEstimator);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool AllFinite(double[] mean, double[] variance)
    {
        for (int c = 0; c < mean.Length; c++)
        {
            if (!double.IsFinite(mean[c]) || !double.IsFinite(variance[c]))
            {
                return false;
            }
        }

        return true;
    }

    private static void ThrowIfNonFinite(double[] mean, double[] variance, string paramName)
    {
        for (int c = 0; c < mean.Length; c++)
        {
            if (!double.IsFinite(mean[c]) || !double.IsFinite(variance[c]))
            {
                ThrowHelper.ThrowArgument(
                    paramName,
                    $"Expected finite batch statistics, but channel {c} has mean {mean[c]} and variance {variance[c]} (NonFiniteStatisticsPolicy.Throw); nothing was changed.");
            }
        }
    }

    /// <summary>Checks a shape's rank and channel count; returns its layout in <paramref name="memoryFormat"/>.</summary>
    private BatchNormLayout ValidateShape(ReadOnlySpan<int> shape, BatchNormMemoryFormat memoryFormat)
    {
        if (shape.Length < _minRank || shape.Length > _maxRank)
        {
            ThrowHelper.ThrowArgument(
                nameof(shape),
                $"{GetType().Name.Split('`')[0]} expects a shape {_expectedShape}, but got rank {shape.Length}: {BatchNormLayout.Format(shape)}.");
        }

        BatchNormLayout layout = BatchNormLayout.FromShape(shape, memoryFormat);
        ThrowIfOtherChannels(shape, nameof(shape));

        return layout;
    }

    /// <summary>Throws unless <paramref name="shape"/> (of rank 2 or more) has <see cref="NumFeatures"/> channels; a lazy layer takes any.</summary>
    private void ThrowIfOtherChannels(ReadOnlySpan<int> shape, string paramName)
    {
        if (shape[1] != NumFeatures && NumFeatures != 0)
        {
            ThrowHelper.ThrowArgument(
                paramName, $"Expected {NumFeatures} channels (NumFeatures) in dimension 1, but got {shape[1]} in {BatchNormLayout.Format(shape)}.");
        }
    }
}
