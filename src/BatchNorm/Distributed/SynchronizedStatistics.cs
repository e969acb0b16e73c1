using System;
using System.Runtime.ExceptionServices;

namespace BatchNorm.Distributed;

/// <summary>
/// The collective protocol of a synchronized layer, one object per layer, for its forward and its backward alike: a
/// replica whose arguments were rejected (the layer catches its own argument errors and hands them here) still joins
/// the collective (a replica that threw before it would leave its
/// peers waiting), with its rejection in place of its data; after the collective, a rejected replica throws its own
/// error and the others an <see cref="InvalidOperationException"/> saying that a peer rejected, so every replica either
/// goes on with the same global values or throws having changed nothing. The buffers are kept between calls.
/// </summary>
internal sealed class SynchronizedStatistics
{
    private double[] _send = [];
    private double[] _receive = [];
    private double[] _sums = [];

    private double[] _localSumDy = [];
    private double[] _localSumDyX = [];

    /// <summary>This replica's Σdy per channel, as <see cref="ReduceSums"/> was given it.</summary>
    public double[] LocalSumDy => _localSumDy;

    /// <summary>This replica's Σdy·(x − mean) per channel, as <see cref="ReduceSums"/> was given it.</summary>
    public double[] LocalSumDyX => _localSumDyX;

    /// <summary>
    /// The forward's collective: all-gathers each replica's <c>(count, mean, M2)</c> per channel (or its rejection), then
    /// merges them in rank order with Chan's formula into <paramref name="mean"/> and <paramref name="variance"/> (which
    /// hold this replica's statistics on entry) and returns the global count per channel.
    /// </summary>
    public long GatherStatistics(ICollectiveCommunicator communicator, ExceptionDispatchInfo? rejection, int count, double[] mean, double[] variance)
    {
        int size = communicator.Size;
        ScratchArrays.Ensure(ref _send, StatisticsMerge.ValuesPerChannel * mean.Length);
        ScratchArrays.Ensure(ref _receive, StatisticsMerge.ValuesPerChannel * mean.Length * size);
        if (rejection is null)
        {
            StatisticsMerge.Pack(_send, count, mean, variance);
        }
        else
        {
            StatisticsMerge.PackRejected(_send);
        }

        try
        {
            communicator.AllGather(_send, _receive);
        }
        catch (ObjectDisposedException e)
        {
            throw Disposed(communicator, e);
        }

        rejection?.Throw();
        int rejected = StatisticsMerge.FirstRejected(_receive, size);
        if (rejected >= 0)
        {
            ThrowHelper.ThrowInvalidOperation(
                $"Replica {rejected} rejected its Forward arguments, so replica {communicator.Rank} did not normalize its batch either; nothing was changed.");
        }

        // Every replica merges the same values in the same order: from here on, all succeed or all throw alike.
        return StatisticsMerge.Merge(_receive, size, mean, variance);
    }

    /// <summary>Buffers for this replica's Σdy and Σdy·(x − mean), cleared, for the backward's reduction to fill before <see cref="ReduceSums"/>.</summary>
    public void PrepareSums(int channels)
    {
        ScratchArrays.Ensure(ref _sums, (2 * channels) + 1);
        ScratchArrays.Ensure(ref _localSumDy, channels);
        ScratchArrays.Ensure(ref _localSumDyX, channels);
        _localSumDy.AsSpan().Clear();
        _localSumDyX.AsSpan().Clear();
    }

    /// <summary>
    /// The backward's collective: all-reduces this replica's <see cref="LocalSumDy"/> and <see cref="LocalSumDyX"/> (or
    /// its rejection, counted in one more value) and returns the global sums: Σdy in the first <c>C</c> values, Σdy·(x − mean)
    /// in the next <c>C</c>.
    /// </summary>
    public ReadOnlySpan<double> ReduceSums(ICollectiveCommunicator communicator, ExceptionDispatchInfo? rejection)
    {
        int channels = LocalSumDy.Length;
        Span<double> sums = _sums;
        sums.Clear();
        if (rejection is null)
        {
            LocalSumDy.CopyTo(sums);
            LocalSumDyX.CopyTo(sums.Slice(channels));
        }
        else
        {
            sums[2 * channels] = 1;
        }

        try
        {
            communicator.AllReduceSum(sums);
        }
        catch (ObjectDisposedException e)
        {
            throw Disposed(communicator, e);
        }

        if (sums[2 * channels] != 0)
        {
            rejection?.Throw();
            ThrowHelper.ThrowInvalidOperation(
                $"{sums[2 * channels]} peer replica(s) rejected their Backward arguments, so replica {communicator.Rank} did not compute its gradients either; nothing was changed.");
        }

        return sums.Slice(0, 2 * channels);
    }

    /// <summary>The error of a layer whose <see cref="BatchNormBase{T}.Communicator"/> was disposed: it names the communicator and what to do.</summary>
    private static ObjectDisposedException Disposed(ICollectiveCommunicator communicator, ObjectDisposedException e) =>
        new(
            $"The layer's Communicator ({communicator.GetType().Name}, rank {communicator.Rank} of {communicator.Size}) was disposed, so this synchronized " +
            "call cannot reach its peers; nothing was changed. Set Communicator to a live communicator, or to null to use this replica's batch alone.",
            e);
}
