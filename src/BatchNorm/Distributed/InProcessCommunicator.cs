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
    /// <remarks>The group that made this communicator; it is <c>Group.Communicators[Rank]</c>. Fixed.</remarks>
    public InProcessCommunicatorGroup Group { get; }

    /// <inheritdoc/>
    /// <remarks>This communicator's index in <see cref="InProcessCommunicatorGroup.Communicators"/>; fixed.</remarks>
    public int Rank { get; }

    /// <inheritdoc/>
    /// <remarks>The group's <see cref="InProcessCommunicatorGroup.Size"/>.</remarks>
    public int Size => Group.Size;

    /// <inheritdoc/>
    /// <remarks>
    /// This method effectively computes <c>receive[r * send.Length + i] = send_r[i]</c>, copying through the group's
    /// buffers in two barrier phases. A length or overlap error throws before this replica takes part, so its peers wait
    /// until the group times out or is aborted.
    /// </remarks>
    public void AllGather(ReadOnlySpan<double> send, Span<double> receive) => Group.AllGather(Rank, send, receive);

    /// <inheritdoc/>
    /// <remarks>
    /// This method effectively computes <c>values[i] = (… (values_0[i] + values_1[i]) + …) + values_(Size-1)[i]</c>: every
    /// replica sums in rank order, in <see cref="double"/>, so all get the same bits. NaN on any replica propagates to all.
    /// </remarks>
    public void AllReduceSum(Span<double> values) => Group.AllReduceSum(Rank, values);
}
