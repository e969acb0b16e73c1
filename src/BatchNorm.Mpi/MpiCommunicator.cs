using System;
using BatchNorm.Distributed;

namespace BatchNorm.Mpi;

/// <summary>
/// An MPI communicator as an <see cref="ICollectiveCommunicator"/>: <see cref="AllGather"/> is <c>MPI_Allgather</c> and
/// <see cref="AllReduceSum"/> an in-place <c>MPI_Allreduce</c> with <c>MPI_SUM</c>, both on <c>MPI_DOUBLE</c>.
/// </summary>
/// <remarks>
/// <see cref="MpiEnvironment.World"/> is <c>MPI_COMM_WORLD</c>; <see cref="Split"/> makes sub-groups, for example
/// one synchronized group per node or per model replica. Every collective blocks until all processes of the
/// communicator call it; every MPI return code is checked and a failure throws <see cref="MpiException"/> (under
/// MPI's default error handler the job aborts first). Calls are serialized across threads.
/// </remarks>
public sealed unsafe class MpiCommunicator : ICollectiveCommunicator, IDisposable
{
    private readonly MpiEnvironment _environment;
    private readonly bool _owned;
    private nint _handle;

    internal MpiCommunicator(MpiEnvironment environment, nint handle, bool owned)
    {
        _environment = environment;
        _handle = handle;
        _owned = owned;
        lock (MpiEnvironment.Gate)
        {
            MpiEnvironment.Check(environment.Library, environment.Library.CommRank(handle, out int rank), "MPI_Comm_rank");
            MpiEnvironment.Check(environment.Library, environment.Library.CommSize(handle, out int size), "MPI_Comm_size");
            Rank = rank;
            Size = size;
        }
    }

    /// <summary>This process's rank in the communicator (<c>MPI_Comm_rank</c>).</summary>
    public int Rank { get; }

    /// <summary>The number of processes in the communicator (<c>MPI_Comm_size</c>).</summary>
    public int Size { get; }

    /// <summary>Whether this is <c>MPI_COMM_WORLD</c>.</summary>
    public bool IsWorld => !_owned;

    /// <summary>Gathers every process's <paramref name="send"/> into every process's <paramref name="receive"/>, in rank order (<c>MPI_Allgather</c>).</summary>
    /// <param name="send">This process's values; the same length on every process.</param>
    /// <param name="receive">Receives all values; of length <c>send.Length * Size</c>, disjoint from <paramref name="send"/>.</param>
    /// <exception cref="ArgumentException">A length is wrong, or the spans overlap.</exception>
    /// <exception cref="ObjectDisposedException">The communicator or MPI was disposed.</exception>
    /// <exception cref="MpiException">MPI_Allgather returned an error.</exception>
    public void AllGather(ReadOnlySpan<double> send, Span<double> receive)
    {
        if (receive.Length != (long)send.Length * Size)
        {
            throw new ArgumentException($"Expected a span of length {(long)send.Length * Size} (send length {send.Length} times {Size} processes), but got length {receive.Length}.", nameof(receive));
        }

        if (send.Overlaps(receive))
        {
            throw new ArgumentException($"'{nameof(receive)}' must not share memory with '{nameof(send)}', but it does.", nameof(receive));
        }

        lock (MpiEnvironment.Gate)
        {
            ThrowIfDisposed();
            fixed (double* s = send)
            fixed (double* r = receive)
            {
                MpiEnvironment.Check(_environment.Library, _environment.Library.AllGatherDouble(s, send.Length, r, _handle), "MPI_Allgather");
            }
        }
    }

    /// <summary>Replaces <paramref name="values"/> on every process by their element-wise sum over the processes (<c>MPI_Allreduce</c>, <c>MPI_IN_PLACE</c>, <c>MPI_SUM</c>).</summary>
    /// <param name="values">This process's values, summed in place; the same length on every process.</param>
    /// <exception cref="ObjectDisposedException">The communicator or MPI was disposed.</exception>
    /// <exception cref="MpiException">MPI_Allreduce returned an error.</exception>
    /// <remarks>The summation order is the MPI library's; MPI recommends, but does not promise, the same bits on every process.</remarks>
    public void AllReduceSum(Span<double> values)
    {
        lock (MpiEnvironment.Gate)
        {
            ThrowIfDisposed();
            fixed (double* v = values)
            {
                MpiEnvironment.Check(_environment.Library, _environment.Library.AllReduceSumDoubleInPlace(v, values.Length, _handle), "MPI_Allreduce");
            }
        }
    }

    /// <summary>Blocks until every process of the communicator has called it (<c>MPI_Barrier</c>).</summary>
    /// <exception cref="ObjectDisposedException">The communicator or MPI was disposed.</exception>
    /// <exception cref="MpiException">MPI_Barrier returned an error.</exception>
    public void Barrier()
    {
        lock (MpiEnvironment.Gate)
        {
            ThrowIfDisposed();
            MpiEnvironment.Check(_environment.Library, _environment.Library.Barrier(_handle), "MPI_Barrier");
        }
    }

    /// <summary>
    /// Splits the communicator into sub-groups (<c>MPI_Comm_split</c>): processes that pass the same
    /// <paramref name="color"/> form one group, ranked by <paramref name="key"/> (ties by their rank here). Collective:
    /// every process of this communicator must call it.
    /// </summary>
    /// <param name="color">The group to join; zero or more.</param>
    /// <param name="key">The order within the group.</param>
    /// <returns>This process's sub-group; dispose it (<c>MPI_Comm_free</c>) before MPI is finalized.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="color"/> is negative.</exception>
    /// <exception cref="ObjectDisposedException">The communicator or MPI was disposed.</exception>
    /// <exception cref="MpiException">MPI_Comm_split returned an error.</exception>
    public MpiCommunicator Split(int color, int key)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(color);
        lock (MpiEnvironment.Gate)
        {
            ThrowIfDisposed();
            MpiEnvironment.Check(_environment.Library, _environment.Library.CommSplit(_handle, color, key, out nint created), "MPI_Comm_split");
            return new MpiCommunicator(_environment, created, owned: true);
        }
    }

    /// <summary>Ends every process of this communicator's job with <paramref name="errorCode"/> (<c>MPI_Abort</c>).</summary>
    /// <param name="errorCode">The exit code the launcher should report.</param>
    /// <exception cref="ObjectDisposedException">The communicator or MPI was disposed.</exception>
    /// <exception cref="MpiException">MPI_Abort returned an error.</exception>
    public void Abort(int errorCode = 1)
    {
        // No lock: abort must not wait for a thread blocked in a collective.
        ThrowIfDisposed();
        MpiEnvironment.Check(_environment.Library, _environment.Library.Abort(_handle, errorCode), "MPI_Abort");
    }

    /// <summary>Frees a communicator made by <see cref="Split"/> (<c>MPI_Comm_free</c>); does nothing for the world communicator. Idempotent.</summary>
    /// <exception cref="MpiException">MPI_Comm_free returned an error.</exception>
    public void Dispose()
    {
        lock (MpiEnvironment.Gate)
        {
            if (!_owned || _handle == 0 || _environment.IsDisposed)
            {
                _handle = _owned ? 0 : _handle;
                return;
            }

            nint handle = _handle;
            _handle = 0;
            MpiEnvironment.Check(_environment.Library, _environment.Library.CommFree(handle), "MPI_Comm_free");
        }
    }

    private void ThrowIfDisposed()
    {
        _environment.ThrowIfDisposed();
        ObjectDisposedException.ThrowIf(_handle == 0, this);
    }
}
