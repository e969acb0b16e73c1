using System;
using System.Collections.Generic;
using System.Threading;

namespace BatchNorm.Distributed;

/// <summary>
/// A group of replicas that run as threads of one process, with barrier-based collectives: one
/// <see cref="InProcessCommunicator"/> per replica, each to be used by the thread that runs that replica.
/// </summary>
/// <remarks>
/// <para>
/// Every collective is two barrier phases: each replica publishes its contribution, waits for all, reads all
/// contributions (summing them in rank order, so every replica gets the same bits), and waits again before the buffers
/// may be reused. The only allocation is a replica's buffer growing to a longer contribution than it has sent before.
/// </para>
/// <para>
/// Failure: a replica that stops taking part (its thread threw, say) leaves its peers waiting in their next collective.
/// Call <see cref="Abort"/> (from that replica's <c>catch</c>, or from any thread) and every pending and later
/// collective of the group throws <see cref="InvalidOperationException"/> instead; a <see cref="Timeout"/> bounds
/// the wait, after which the group aborts itself. A replica that calls a different collective, or one with a different
/// length, than its peers also aborts the group. An aborted group stays aborted: make a new one.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// using var group = new InProcessCommunicatorGroup(size: 2, timeout: TimeSpan.FromSeconds(30));
/// var threads = new Thread[group.Size];
/// for (int r = 0; r &lt; group.Size; r++)
/// {
///     int rank = r;
///     threads[r] = new Thread(() =&gt;
///     {
///         var bn = new BatchNorm2d&lt;float&gt;(numFeatures: 16) { Communicator = group.Communicators[rank] };
///         try
///         {
///             bn.Forward(inputs[rank], shapes[rank], outputs[rank]);   // the statistics of both replicas' batches
///         }
///         catch
///         {
///             group.Abort();                                           // release the peers rather than leave them waiting
///             throw;
///         }
///     });
///     threads[r].Start();
/// }
///
/// foreach (Thread thread in threads)
/// {
///     thread.Join();
/// }
/// </code>
/// </example>
public sealed class InProcessCommunicatorGroup : IDisposable
{
    private readonly Barrier _barrier;
    private readonly CancellationTokenSource _abort = new();
    private readonly InProcessCommunicator[] _communicators;
    private readonly double[][] _buffers;
    private readonly int[] _operations;
    private readonly int[] _lengths;
    private volatile string? _abortReason;
    private volatile bool _disposed;

    /// <summary>Creates a group of <paramref name="size"/> replicas.</summary>
    /// <param name="size">The number of replicas; one or more.</param>
    /// <param name="timeout">The longest a replica waits for its peers in one collective phase; <see langword="null"/> (the default) to wait forever.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is below 1, or <paramref name="timeout"/> is not positive or exceeds <see cref="int.MaxValue"/> milliseconds.</exception>
    /// <remarks>
    /// Makes the <see cref="Communicators"/>, one per rank, and a barrier of <paramref name="size"/> participants: every
    /// replica must run on its own thread, since each collective blocks until all have arrived (replicas run as loop
    /// iterations that one thread may execute in turn, as <c>Parallel.For</c> may, can deadlock).
    /// </remarks>
    public InProcessCommunicatorGroup(int size, TimeSpan? timeout = null)
    {
        if (size < 1)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(size), size, "Expected one or more replicas.");
        }

        if (timeout is TimeSpan t && (t <= TimeSpan.Zero || t.TotalMilliseconds > int.MaxValue))
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(timeout), timeout, "Expected a positive timeout of at most int.MaxValue milliseconds, or null to wait forever.");
        }

        Size = size;
        Timeout = timeout ?? System.Threading.Timeout.InfiniteTimeSpan;
        _barrier = new Barrier(size);
        _buffers = new double[size][];
        _operations = new int[size];
        _lengths = new int[size];
        _communicators = new InProcessCommunicator[size];
        for (int r = 0; r < size; r++)
        {
            _buffers[r] = Array.Empty<double>();
            _communicators[r] = new InProcessCommunicator(this, r);
        }
    }

    /// <summary>The number of replicas.</summary>
    /// <remarks>Fixed at construction; the length of <see cref="Communicators"/>.</remarks>
    public int Size { get; }

    /// <summary>The longest a replica waits for its peers in one collective phase; <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> for no limit.</summary>
    /// <remarks>Fixed at construction. When a wait exceeds it, the group aborts itself and every replica's collective throws <see cref="InvalidOperationException"/>.</remarks>
    public TimeSpan Timeout { get; }

    /// <summary>The replicas' communicators, indexed by rank.</summary>
    /// <remarks>Fixed at construction; hand <c>Communicators[r]</c> to the thread that runs replica <c>r</c>, and to its layers' <see cref="BatchNormBase{T}.Communicator"/>.</remarks>
    public IReadOnlyList<InProcessCommunicator> Communicators => _communicators;

    /// <summary>Whether the group has been aborted (by <see cref="Abort"/>, <see cref="Dispose"/>, a timeout or mismatched collectives).</summary>
    /// <remarks>Once <see langword="true"/>, stays <see langword="true"/>; every later collective throws <see cref="InvalidOperationException"/>.</remarks>
    public bool IsAborted => _abortReason is not null;

    /// <summary>Aborts the group: every pending and later collective of every replica throws <see cref="InvalidOperationException"/>.</summary>
    /// <remarks>Idempotent and safe to call from any thread, for example from the <c>catch</c> of a replica that failed.</remarks>
    public void Abort() => AbortWith("The group was aborted.");

    /// <summary>Aborts the group (see <see cref="Abort"/>); its collectives then throw <see cref="ObjectDisposedException"/>.</summary>
    /// <remarks>
    /// Idempotent. It only aborts: the communicators stay usable objects whose pending and later collectives throw
    /// <see cref="ObjectDisposedException"/> (an <see cref="InvalidOperationException"/>), and nothing else is released.
    /// </remarks>
    public void Dispose()
    {
        _disposed = true;
        AbortWith("The group was disposed.");
    }

    internal void AllGather(int rank, ReadOnlySpan<double> send, Span<double> receive)
    {
        Guard.Length<double>(receive, (long)send.Length * Size);
        Guard.Apart<double, double>(send, receive);

        Publish(rank, Operation.AllGather, send);
        for (int r = 0; r < Size; r++)
        {
            _buffers[r].AsSpan(0, send.Length).CopyTo(receive.Slice(r * send.Length, send.Length));
        }

        Wait(rank, Operation.AllGather);
    }

    internal void AllReduceSum(int rank, Span<double> values)
    {
        Publish(rank, Operation.AllReduceSum, values);
        // Every replica sums in rank order, so all get the same bits; the per-element loop is the reduction itself.
        values.Clear();
        for (int r = 0; r < Size; r++)
        {
            ReadOnlySpan<double> contribution = _buffers[r].AsSpan(0, values.Length);
            for (int i = 0; i < values.Length; i++)
            {
                values[i] += contribution[i];
            }
        }

        Wait(rank, Operation.AllReduceSum);
    }

    /// <summary>Publishes this replica's contribution, waits for all, and checks that all called the same collective.</summary>
    private void Publish(int rank, Operation operation, ReadOnlySpan<double> contribution)
    {
        ThrowIfAborted();
        if (_buffers[rank].Length < contribution.Length)
        {
            _buffers[rank] = new double[contribution.Length];
        }

        contribution.CopyTo(_buffers[rank]);
        _operations[rank] = (int)operation;
        _lengths[rank] = contribution.Length;
        Wait(rank, operation);
        for (int r = 0; r < Size; r++)
        {
            if (_operations[r] != (int)operation || _lengths[r] != contribution.Length)
            {
                AbortWith(
                    $"Mismatched collectives: replica {rank} called {operation} with {contribution.Length} values, but replica {r} called {(Operation)_operations[r]} with {_lengths[r]}.");
                ThrowIfAborted();
            }
        }
    }

    private void Wait(int rank, Operation operation)
    {
        bool arrived;
        try
        {
            arrived = _barrier.SignalAndWait(Timeout, _abort.Token);
        }
        catch (OperationCanceledException)
        {
            arrived = true;
            ThrowIfAborted();
        }

        if (!arrived)
        {
            AbortWith($"Replica {rank} waited longer than {Timeout} for its peers in {operation}.");
        }

        ThrowIfAborted();
    }

    private void AbortWith(string reason)
    {
        Interlocked.CompareExchange(ref _abortReason, reason, null);
        _abort.Cancel();
    }

    private void ThrowIfAborted()
    {
        string? reason = _abortReason;
        if (_disposed)
        {
            throw new ObjectDisposedException(nameof(InProcessCommunicatorGroup), "The in-process replica group was disposed; no collective can complete.");
        }

        if (reason is not null)
        {
            ThrowHelper.ThrowInvalidOperation($"The in-process replica group is aborted; no collective can complete. {reason}");
        }
    }

    private enum Operation
    {
        None,
        AllGather,
        AllReduceSum,
    }
}
