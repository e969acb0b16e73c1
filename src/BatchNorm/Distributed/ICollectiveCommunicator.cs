using System;

namespace BatchNorm.Distributed;

/// <summary>
/// The two collective operations a synchronized batch-norm layer needs, over a fixed group of replicas (processes or
/// threads) that each hold one part of the global mini-batch.
/// </summary>
/// <remarks>
/// <para>
/// Collectives are blocking and must be called by every replica of the group, in the same order, with the same
/// lengths; a replica that does not take part leaves its peers waiting (what then happens depends on the
/// implementation: see <see cref="InProcessCommunicatorGroup"/> and the MPI package's <c>MpiCommunicator</c>).
/// </para>
/// <para>
/// Implementations: <see cref="InProcessCommunicatorGroup"/> (replicas as threads of one process) and
/// <c>BatchNorm.Mpi.MpiCommunicator</c> in the <c>BatchNorm.Mpi</c> package (replicas as MPI processes).
/// An instance belongs to one replica and is not safe for concurrent use.
/// </para>
/// </remarks>
public interface ICollectiveCommunicator
{
    /// <summary>This replica's index in the group, from 0 to <see cref="Size"/> - 1.</summary>
    /// <remarks>Must not change; <see cref="BatchNormBase{T}.Communicator"/> rejects a communicator whose rank is outside <c>[0, Size)</c>.</remarks>
    int Rank { get; }

    /// <summary>The number of replicas in the group; one or more.</summary>
    /// <remarks>Must not change; a group of one replica is valid.</remarks>
    int Size { get; }

    /// <summary>
    /// Gathers every replica's <paramref name="send"/> into every replica's <paramref name="receive"/>, in rank order:
    /// replica <c>r</c>'s values land at <c>receive[r * send.Length ..]</c>.
    /// </summary>
    /// <param name="send">This replica's contribution; the same length on every replica.</param>
    /// <param name="receive">Receives all contributions; of length <c>send.Length * Size</c>, disjoint from <paramref name="send"/>.</param>
    /// <exception cref="ArgumentException">A length is wrong, or the spans overlap.</exception>
    /// <exception cref="InvalidOperationException">The group failed (a peer aborted, timed out, or called a different collective).</exception>
    /// <remarks>
    /// This method effectively computes <c>receive[r * send.Length + i] = send_r[i]</c> for every replica <c>r</c>. Values
    /// are copied, not combined: NaN passes through and every replica receives the same bits.
    /// </remarks>
    void AllGather(ReadOnlySpan<double> send, Span<double> receive);

    /// <summary>Replaces <paramref name="values"/>, on every replica, by the element-wise sum of all replicas' <paramref name="values"/>.</summary>
    /// <param name="values">This replica's values, summed in place; the same length on every replica.</param>
    /// <exception cref="InvalidOperationException">The group failed (a peer aborted, timed out, or called a different collective).</exception>
    /// <remarks>
    /// This method effectively computes <c>values[i] = Σ_r values_r[i]</c> over the replicas <c>r</c>. NaN on any replica
    /// makes that element NaN on all. The summation order is the implementation's (rank order for
    /// <see cref="InProcessCommunicatorGroup"/>, so every replica gets the same bits; the MPI library's for MPI).
    /// </remarks>
    void AllReduceSum(Span<double> values);
}
