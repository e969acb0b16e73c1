using System;

namespace BatchNorm.Distributed;

/// <summary>One replica's end of an <see cref="InProcessCommunicatorGroup"/>.</summary>
/// <remarks>Use it from the thread that runs this replica; every replica of the group must call the same collectives in the same order.</remarks>
public sealed class InProcessCommunicator : ICollectiveCommunicator
{
    internal InProcessCommunicator(InProcessCommunicatorGroup group, int rank)
    {
        Group = group;
        Rank = rank;
    }

    /// <summary>The group this replica belongs to.</summary>
    public InProcessCommunicatorGroup Group { get; }

    /// <inheritdoc/>
    public int Rank { get; }

    /// <inheritdoc/>
    public int Size => Group.Size;

    /// <inheritdoc/>
    public void AllGather(ReadOnlySpan<double> send, Span<double> receive) => Group.AllGather(Rank, send, receive);

    /// <inheritdoc/>
    public void AllReduceSum(Span<double> values) => Group.AllReduceSum(Rank, values);
}
