using System;
using System.Numerics;
using System.Runtime.ExceptionServices;
using BatchNorm.Distributed;
using BatchNorm.Kernels;

namespace BatchNorm;

// Synchronized batch norm: statistics over the global batch of a group of data-parallel replicas (PyTorch: SyncBatchNorm).
public abstract partial class BatchNormBase<T>
{
    private readonly SynchronizedStatistics _synchronized = new();
    private ICollectiveCommunicator? _communicator;

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
    private bool SynchronizesForward => IsTraining && !_frozenStatistics && _communicator is not null;

    private void ForwardSynchronized<TData>(ReadOnlySpan<TData> input, ReadOnlySpan<int> shape, Span<TData> output, BatchNormMemoryFormat memoryFormat)
        where TData : unmanaged
    {
        ExceptionDispatchInfo? rejection = null;
        BatchNormLayout layout = default;
        try
        {
            layout = ValidateShape(shape, memoryFormat);
            BatchNormKernels.ValidateForward<T, TData>(input, output, layout, _weight, _bias, Epsilon);
            EnsureFeatures(layout.Channels);
            if (layout.ValuesPerChannel > 0)
            {
                BatchNormKernels.ComputeStatistics<T, TData>(input, layout, _saved.NextMean, _variance, _maxDegreeOfParallelism);
            }
        }
        catch (ArgumentException e)
        {
            rejection = ExceptionDispatchInfo.Capture(e); // held back until this replica has joined the collective
        }

        ICollectiveCommunicator communicator = _communicator!;
        long globalCount = _synchronized.GatherStatistics(communicator, rejection, layout.ValuesPerChannel, _saved.NextMean, _variance);
        SmallBatch way = SmallBatchWay(globalCount, nameof(input)); // the same on every replica: the count is global
        if (way == SmallBatch.RunningStatistics)
        {
            _saved.TakeInput(input, layout);
            BatchNormKernels.ForwardInference<T, TData>(
                input, output, layout, _weight, _bias, _runningMean, _runningVariance, Epsilon, _maxDegreeOfParallelism);
            _saved.CommitRunning(output, shape, layout);
            return;
        }

        bool update = TrackRunningStatistics && way == SmallBatch.Normal;
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
        int channels = NumFeatures;
        _synchronized.PrepareSums(channels);
        ExceptionDispatchInfo? rejection = null;
        BatchNormLayout layout = default;
        try
        {
            layout = CheckSavedShape(shape);
            ThrowIfInputChanged(input, layout, gradOutput, gradInput);
            BatchNormKernels.BackwardReduce<T, TData>(
                input, gradOutput, layout, _saved.Mean, _synchronized.LocalSumDy, _synchronized.LocalSumDyX, _maxDegreeOfParallelism);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            rejection = ExceptionDispatchInfo.Capture(e); // held back until this replica has joined the collective
        }

        ReadOnlySpan<double> sums = _synchronized.ReduceSums(_saved.Communicator!, rejection);
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
        AddParameterGradients(_synchronized.LocalSumDy, _synchronized.LocalSumDyX);
    }
}
