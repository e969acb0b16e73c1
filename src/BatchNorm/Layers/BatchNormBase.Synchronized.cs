using System;
using System.Numerics;
using System.Runtime.ExceptionServices;
using BatchNorm.Distributed;
using BatchNorm.Kernels;

namespace BatchNorm;

// Synchronized batch norm: statistics over the global batch of a group of data-parallel replicas (PyTorch: SyncBatchNorm).
public abstract partial class BatchNormBase<T>
{
    private ICollectiveCommunicator? _communicator;

    // The communicator the last successful Forward synchronized over (null when it did not), and its global count.

    private double[] _gatherSend = Array.Empty<double>();
    private double[] _gatherReceive = Array.Empty<double>();
    private double[] _reduceBuffer = Array.Empty<double>();
    private double[] _localSumGradOutput = Array.Empty<double>();
    private double[] _localSumGradOutputCentered = Array.Empty<double>();

    /// <summary>
    /// The group of data-parallel replicas whose global batch the training statistics are taken over, or
    /// <see langword="null"/> (the default) for this replica's batch alone (PyTorch: <c>SyncBatchNorm</c>'s <c>process_group</c>).
    /// </summary>
    /// <remarks>
    /// <para>
    /// While training with a communicator, <see cref="Forward(ReadOnlySpan{T}, ReadOnlySpan{int}, Span{T})"/> computes each
    /// channel's local <c>(count, mean, M2)</c>, all-gathers them (<c>3C</c> doubles per replica) and merges them in rank
    /// order with Chan's parallel formula, so every replica normalizes with the same global mean and biased variance
    /// and folds the same global unbiased variance into identical running statistics. Replicas may hold different batch
    /// sizes, even none (an empty batch still takes part). <see cref="Backward(ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, Span{T})"/>
    /// then all-reduces <c>Σdy</c> and <c>Σdy·(x - mean)</c> (<c>2C + 1</c> doubles) and computes the input gradient with
    /// the global count. <c>Backward</c> synchronizes over the communicator of the <c>Forward</c> it differentiates, even
    /// if this property has changed since.
    /// </para>
    /// <para>
    /// The merge effectively computes, folding in replica <c>b</c>'s <c>(nb, mb, M2b)</c> after the running
    /// <c>(na, ma, M2a)</c>: <c>n = na + nb</c>, <c>δ = mb - ma</c>, <c>mean = ma + δ * nb / n</c> and
    /// <c>M2 = M2a + M2b + δ² * na * nb / n</c>, then <c>var = M2 / n</c>, all in <see cref="double"/> (empty replicas
    /// are skipped). NaN in any replica's batch makes the affected channel's global statistics NaN on every replica.
    /// </para>
    /// <para>
    /// The parameter gradients stay local: each replica's <see cref="WeightGradient"/> and <see cref="BiasGradient"/>
    /// hold the gradient of its own part of the batch (they sum over the replicas to the single-process gradient), and
    /// averaging or summing them across replicas is the data-parallel training loop's job, as for every other layer.
    /// </para>
    /// <para>
    /// In evaluation the layer does not synchronize (as PyTorch): it uses the running statistics, or its local batch when
    /// it tracks none. Every replica must call <c>Forward</c> and <c>Backward</c> in the same order; a replica whose
    /// arguments are invalid still takes part in the collective and then throws, and its peers throw
    /// <see cref="InvalidOperationException"/>, so that none is left waiting and none changes any state. (The tensor
    /// overloads check their own arguments, such as rank, lengths and density, before the collective: a replica that fails
    /// those throws at once and does not take part.) A replica that
    /// never calls leaves its peers waiting in the collective: what happens then is the communicator's policy (an
    /// aborted <see cref="InProcessCommunicatorGroup"/> makes them throw; MPI aborts the job when a process dies).
    /// </para>
    /// </remarks>
    /// <exception cref="ArgumentException">The communicator's <see cref="ICollectiveCommunicator.Size"/> is below 1 or its <see cref="ICollectiveCommunicator.Rank"/> is out of range.</exception>
    public ICollectiveCommunicator? Communicator
    {
        get => _communicator;
        set
        {
            if (value is not null && (value.Size < 1 || value.Rank < 0 || value.Rank >= value.Size))
            {
                ThrowHelper.ThrowArgument(nameof(value), $"Expected a communicator with Size >= 1 and 0 <= Rank < Size, but got Rank {value.Rank} and Size {value.Size}.");
            }

            _communicator = value;
        }
    }

    /// <summary>Whether the layer synchronizes its training statistics over a <see cref="Communicator"/>.</summary>
    /// <remarks><see langword="true"/> exactly when <see cref="Communicator"/> is not null, in either mode; only a training <c>Forward</c> (and the <c>Backward</c> of it) synchronizes.</remarks>
    public bool IsSynchronized => _communicator is not null;

    /// <summary>Whether the next Forward synchronizes: training with a communicator.</summary>
    private bool SynchronizesForward => IsTraining && _communicator is not null;

    private void ForwardSynchronized<TData>(ReadOnlySpan<TData> input, ReadOnlySpan<int> shape, Span<TData> output, BatchNormMemoryFormat memoryFormat)
        where TData : unmanaged
    {
        ICollectiveCommunicator communicator = _communicator!;
        int channels = NumFeatures;
        int size = communicator.Size;
        EnsureBuffer(ref _gatherSend, StatisticsMerge.ValuesPerChannel * channels);
        EnsureBuffer(ref _gatherReceive, StatisticsMerge.ValuesPerChannel * channels * size);

        // Validation errors are held back until every replica has contributed: a replica that threw before the
        // collective would leave its peers waiting in it.
        ExceptionDispatchInfo? rejection = null;
        BatchNormLayout layout = default;
        try
        {
            layout = ValidateShape(shape, memoryFormat);
            BatchNormKernels.ValidateForward<T, TData>(input, output, layout, _weight, _bias, Epsilon);
        }
        catch (ArgumentException e)
        {
            rejection = ExceptionDispatchInfo.Capture(e);
        }

        if (rejection is not null)
        {
            StatisticsMerge.PackRejected(_gatherSend);
        }
        else
        {
            int count = layout.ValuesPerChannel;
            if (count > 0)
            {
                BatchNormKernels.ComputeStatistics<T, TData>(input, layout, _saved.NextMean, _variance, _maxDegreeOfParallelism);
            }

            StatisticsMerge.Pack(_gatherSend, count, _saved.NextMean, _variance);
        }

        communicator.AllGather(_gatherSend, _gatherReceive);
        ThrowIfRejected(rejection, StatisticsMerge.FirstRejected(_gatherReceive, size), communicator.Rank);

        // Every replica merges the same values in the same order: from here on, all succeed or all throw alike.
        long globalCount = StatisticsMerge.Merge(_gatherReceive, size, _saved.NextMean, _variance);
        if (globalCount < 2)
        {
            ThrowHelper.ThrowTooFewValues(nameof(input), globalCount);
        }

        bool update = TrackRunningStatistics;
        if (update && _nonFiniteStatisticsPolicy == NonFiniteStatisticsPolicy.Throw)
        {
            ThrowIfNonFinite(_saved.NextMean, _variance, nameof(input));
        }

        _saved.TakeInput(input, layout);
        NormalizeWithBatchStatistics(input, layout, output);
        if (update)
        {
            // The kernel's count is an int; beyond int.MaxValue the unbiasing factor M / (M - 1) is 1 within 5e-10.
            FoldIntoRunningStatistics((int)Math.Min(globalCount, int.MaxValue));
        }

        _saved.CommitBatch(output, shape, layout, communicator, globalCount);
    }

    private void BackwardSynchronized<TData>(ReadOnlySpan<TData> input, ReadOnlySpan<int> shape, ReadOnlySpan<TData> gradOutput, Span<TData> gradInput)
        where TData : unmanaged
    {
        ICollectiveCommunicator communicator = _saved.Communicator!;
        int channels = NumFeatures;
        EnsureBuffer(ref _reduceBuffer, (2 * channels) + 1);
        EnsureBuffer(ref _localSumGradOutput, channels);
        EnsureBuffer(ref _localSumGradOutputCentered, channels);

        ExceptionDispatchInfo? rejection = null;
        BatchNormLayout layout = default;
        try
        {
            layout = CheckSavedShape(shape);
            ThrowIfInputChanged(input, layout, gradOutput, gradInput);

            // Validates input and gradOutput before it writes the sums (which an empty input leaves at zero).
            _localSumGradOutput.AsSpan().Clear();
            _localSumGradOutputCentered.AsSpan().Clear();
            BatchNormKernels.BackwardReduce<T, TData>(
                input, gradOutput, layout, _saved.Mean, _localSumGradOutput, _localSumGradOutputCentered, _maxDegreeOfParallelism);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            rejection = ExceptionDispatchInfo.Capture(e);
        }

        Span<double> sums = _reduceBuffer;
        if (rejection is null)
        {
            _localSumGradOutput.CopyTo(sums);
            _localSumGradOutputCentered.CopyTo(sums.Slice(channels));
            sums[2 * channels] = 0;
        }
        else
        {
            sums.Clear();
            sums[2 * channels] = 1;
        }

        communicator.AllReduceSum(sums);
        if (sums[2 * channels] != 0)
        {
            rejection?.Throw();
            ThrowHelper.ThrowInvalidOperation(
                $"{sums[2 * channels]} peer replica(s) rejected their Backward arguments, so replica {communicator.Rank} did not compute its gradients either; nothing was changed.");
        }

        if (!gradInput.IsEmpty && layout.Length > 0)
        {
            BatchNormKernels.BackwardElementwise<T, TData>(
                input,
                gradOutput,
                gradInput,
                layout,
                _weight,
                _saved.Mean,
                _saved.InverseStd,
                sums.Slice(0, channels),
                sums.Slice(channels, channels),
                _saved.GlobalCount,
                _maxDegreeOfParallelism);
        }

        // The parameter gradients are this replica's own share, as the kernel would add them.
        for (int c = 0; c < _weightGradient.Length; c++)
        {
            _weightGradient[c] = ParameterGradients.Weight(_weightGradient[c], _localSumGradOutputCentered[c], _saved.InverseStd[c]);
            _biasGradient[c] = ParameterGradients.Bias(_biasGradient[c], _localSumGradOutput[c]);
        }
    }

    private static void ThrowIfRejected(ExceptionDispatchInfo? rejection, int rejectedRank, int rank)
    {
        rejection?.Throw();
        if (rejectedRank >= 0)
        {
            ThrowHelper.ThrowInvalidOperation(
                $"Replica {rejectedRank} rejected its Forward arguments, so replica {rank} did not normalize its batch either; nothing was changed.");
        }
    }

    private static void EnsureBuffer(ref double[] buffer, int length)
    {
        if (buffer.Length != length)
        {
            buffer = new double[length];
        }
    }
}
