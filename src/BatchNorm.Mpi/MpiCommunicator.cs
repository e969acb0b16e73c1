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
/// <example>
/// <code>
/// // mpiexec -n 4 dotnet Train.dll: two synchronized groups of two ranks each
/// using MpiEnvironment mpi = MpiEnvironment.Initialize();
/// using MpiCommunicator pair = mpi.World.Split(color: mpi.World.Rank / 2, key: mpi.World.Rank);
/// var bn = new BatchNorm2d&lt;float&gt;(numFeatures: 16) { Communicator = pair };
/// bn.Forward(x, shape, y);                     // statistics over the batches of this rank and its partner
/// </code>
/// </example>
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
    /// <remarks>Read once, when the communicator is made; a communicator's ranks never change in MPI.</remarks>
    public int Rank { get; }

    /// <summary>The number of processes in the communicator (<c>MPI_Comm_size</c>).</summary>
    /// <remarks>Read once, when the communicator is made.</remarks>
    public int Size { get; }

    /// <summary>Whether this is <c>MPI_COMM_WORLD</c>.</summary>
    /// <remarks><see langword="true"/> only for <see cref="MpiEnvironment.World"/>, which <see cref="Dispose"/> never frees; <see langword="false"/> for <see cref="Split"/>'s results.</remarks>
    public bool IsWorld => !_owned;

    /// <summary>Gathers every process's <paramref name="send"/> into every process's <paramref name="receive"/>, in rank order (<c>MPI_Allgather</c>).</summary>
    /// <param name="send">This process's values; the same length on every process.</param>
    /// <param name="receive">Receives all values; of length <c>send.Length * Size</c>, disjoint from <paramref name="send"/>.</param>
    /// <exception cref="ArgumentException">A length is wrong, or the spans overlap.</exception>
    /// <exception cref="ObjectDisposedException">The communicator or MPI was disposed.</exception>
    /// <exception cref="MpiException">MPI_Allgather returned an error.</exception>
    /// <remarks>
    /// This method effectively computes <c>receive[r * send.Length + i] = send_r[i]</c> for every rank <c>r</c>; values are
    /// copied, so NaN passes through and every process receives the same bits. The lengths and the overlap are checked
    /// before MPI is called: a process that fails them does not take part, and its peers wait until the job ends.
    /// </remarks>
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
    /// <remarks>
    /// This method effectively computes <c>values[i] = Σ_r values_r[i]</c> over the ranks <c>r</c>, in <see cref="double"/>;
    /// NaN on any process makes that element NaN on all. The summation order is the MPI library's; MPI recommends, but
    /// does not promise, the same bits on every process.
    /// </remarks>
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
    /// <remarks>Collective. A synchronized layer does not need it; it is for lining processes up, for example around timing or I/O.</remarks>
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
    /// <remarks>
    /// A negative color (MPI's <c>MPI_UNDEFINED</c>) is rejected, so every process joins some group. The new communicator
    /// is independent of this one: disposing either leaves the other usable.
    /// </remarks>
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
    /// <remarks>
    /// Not serialized with the other calls, so another thread blocked in a collective does not delay it. MPI
    /// implementations typically end every process of the job, not only this communicator's.
    /// </remarks>
    public void Abort(int errorCode = 1)
    {
        // No lock: abort must not wait for a thread blocked in a collective.
        ThrowIfDisposed();
        MpiEnvironment.Check(_environment.Library, _environment.Library.Abort(_handle, errorCode), "MPI_Abort");
    }

    /// <summary>Frees a communicator made by <see cref="Split"/> (<c>MPI_Comm_free</c>); does nothing for the world communicator. Idempotent.</summary>
    /// <exception cref="MpiException">MPI_Comm_free returned an error.</exception>
    /// <remarks>
    /// Collective for a split communicator: every process of it should dispose it. After <see cref="MpiEnvironment"/> is
    /// disposed nothing can be freed, so the handle is only dropped; later calls throw <see cref="ObjectDisposedException"/>.
    /// </remarks>
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
