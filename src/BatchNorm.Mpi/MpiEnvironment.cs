using System;
using BatchNorm.Mpi.Native;

namespace BatchNorm.Mpi;

/// <summary>
/// The process's MPI session: <see cref="Initialize"/> calls <c>MPI_Init_thread</c> on the system's MPI library and
/// <see cref="Dispose"/> calls <c>MPI_Finalize</c>. Create one per process, at start-up, and dispose it at the end.
/// </summary>
/// <remarks>
/// <para>
/// The library is Open MPI's <c>libmpi.so.40</c> or MPICH's <c>libmpich.so.12</c> (see <see cref="Implementation"/>),
/// chosen from the launcher's environment; set <c>BATCHNORM_MPI_LIBRARY</c> to a file name or path to choose it
/// yourself. Run the program under the matching launcher, for example <c>mpiexec.mpich -n 2 dotnet App.dll</c> or
/// <c>mpirun.openmpi -n 2 dotnet App.dll</c>; without one, MPI starts a singleton of size 1.
/// </para>
/// <para>
/// MPI is initialized with <c>MPI_THREAD_SERIALIZED</c>, and the package serializes its own calls, so the
/// communicators may be used from any thread, one call at a time.
/// </para>
/// <para>
/// Failure: MPI's default error handler, <c>MPI_ERRORS_ARE_FATAL</c>, is left in place, so an MPI error aborts every
/// process of the job. A process that dies (an unhandled exception, a signal) makes the launcher kill the others
/// (MPICH's Hydra prints <c>BAD TERMINATION OF ONE OF YOUR APPLICATION PROCESSES</c>; Open MPI's <c>mpirun</c> reports
/// the process that exited with a non-zero status); peers blocked in a collective do not wait forever. To end
/// the job from a caught exception, call <see cref="Abort"/>.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// // mpiexec -n 2 dotnet App.dll
/// using MpiEnvironment mpi = MpiEnvironment.Initialize();
/// var bn = new BatchNorm1d&lt;float&gt;(numFeatures: 64) { Communicator = mpi.World };
/// bn.Forward(localBatch, shape, output);       // normalized with the statistics of both processes' batches
/// bn.Backward(localBatch, shape, gradOutput, gradInput);
/// </code>
/// </example>
public sealed class MpiEnvironment : IDisposable
{
    private static readonly object s_gate = new();
    private static MpiEnvironment? s_current;

    private readonly MpiLibrary _library;
    private bool _disposed;

    private MpiEnvironment(MpiLibrary library, int threadLevel)
    {
        _library = library;
        ThreadLevel = threadLevel;
        World = new MpiCommunicator(this, library.CommWorld, owned: false);
    }

    /// <summary>The MPI library family that was loaded.</summary>
    /// <remarks>Decided from the library itself (Open MPI's exports <c>ompi_mpi_comm_world</c>), not from its file name; it fixes the handle ABI.</remarks>
    public MpiImplementation Implementation => _library.Implementation;

    /// <summary>The file name or path the library was loaded from.</summary>
    /// <remarks>The name as given to the loader: <c>BATCHNORM_MPI_LIBRARY</c>'s value when set, otherwise a file name such as <c>libmpich.so.12</c> or <c>libmpi.so.40</c>.</remarks>
    public string LibraryPath => _library.Path;

    /// <summary>The thread support MPI provided (2 is <c>MPI_THREAD_SERIALIZED</c>).</summary>
    /// <remarks>
    /// The <c>provided</c> level of <c>MPI_Init_thread</c>. The package requests 2 but does not fail when MPI provides
    /// less; below 2, make every MPI call from the thread that called <see cref="Initialize"/>.
    /// </remarks>
    public int ThreadLevel { get; }

    /// <summary>All processes of the job (<c>MPI_COMM_WORLD</c>).</summary>
    /// <remarks>Owned by MPI, not by you: disposing it does nothing. Its calls throw <see cref="ObjectDisposedException"/> once this environment is disposed.</remarks>
    public MpiCommunicator World { get; }

    /// <summary>Whether <see cref="Dispose"/> has finalized MPI.</summary>
    /// <remarks>Once <see langword="true"/>, every communicator's collectives throw <see cref="ObjectDisposedException"/>, and MPI cannot be initialized again in this process.</remarks>
    public bool IsDisposed => _disposed;

    internal MpiLibrary Library => _library;

    internal static object Gate => s_gate;

    /// <summary>Loads the system's MPI library and initializes MPI (<c>MPI_Init_thread</c>).</summary>
    /// <returns>The session; dispose it to finalize MPI.</returns>
    /// <exception cref="DllNotFoundException">No MPI library could be loaded.</exception>
    /// <exception cref="InvalidOperationException">MPI was already initialized or finalized in this process (MPI allows one session per process).</exception>
    /// <exception cref="MpiException">An MPI call failed.</exception>
    /// <remarks>
    /// Once per process: a second call throws, even after <see cref="Dispose"/>, since MPI cannot be re-initialized. It
    /// requests <c>MPI_THREAD_SERIALIZED</c> and registers the handler that <see cref="AbortOnUnhandledException"/> controls.
    /// </remarks>
    public static MpiEnvironment Initialize()
    {
        lock (s_gate)
        {
            if (s_current is not null)
            {
                throw new InvalidOperationException("MPI is already initialized in this process; use the existing MpiEnvironment.");
            }

            MpiLibrary library = MpiLibraryLoader.Load();
            Check(library, library.Initialized(out int initialized), "MPI_Initialized");
            Check(library, library.Finalized(out int finalized), "MPI_Finalized");
            if (initialized != 0 || finalized != 0)
            {
                throw new InvalidOperationException("MPI was already initialized or finalized in this process; it can be initialized only once.");
            }

            Check(library, library.InitThread(MpiLibrary.ThreadSerialized, out int provided), "MPI_Init_thread");
            s_current = new MpiEnvironment(library, provided);
            AppDomain.CurrentDomain.UnhandledException += s_current.OnUnhandledException;
            return s_current;
        }
    }

    /// <summary>Ends every process of the job with <paramref name="errorCode"/> (<c>MPI_Abort</c> on <c>MPI_COMM_WORLD</c>); does not return when MPI honours it.</summary>
    /// <param name="errorCode">The exit code the launcher should report.</param>
    /// <exception cref="ObjectDisposedException">MPI was finalized.</exception>
    /// <exception cref="MpiException">MPI_Abort returned an error.</exception>
    /// <remarks>The same as <c>World.Abort(errorCode)</c>: not serialized with other calls, so a thread blocked in a collective does not delay it.</remarks>
    public void Abort(int errorCode = 1) => World.Abort(errorCode);

    /// <summary>Finalizes MPI (<c>MPI_Finalize</c>); every process must call it. Idempotent.</summary>
    /// <exception cref="MpiException">MPI_Finalize failed.</exception>
    /// <remarks>
    /// Dispose the communicators made by <see cref="MpiCommunicator.Split"/> first. <c>MPI_Finalize</c> may wait for the
    /// other processes; the unhandled-exception handler is removed before it is called.
    /// </remarks>
    public void Dispose()
    {
        lock (s_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            AppDomain.CurrentDomain.UnhandledException -= OnUnhandledException;
            Check(_library, _library.Finalize(), "MPI_Finalize");
        }
    }

    /// <summary>
    /// Whether an unhandled exception in this process aborts the whole job (<c>MPI_Abort</c> on <c>MPI_COMM_WORLD</c>,
    /// error code 1); <see langword="true"/> by default.
    /// </summary>
    /// <remarks>
    /// Without it, the runtime unwinds the dying process through its <c>finally</c> blocks, where a <c>using</c>
    /// <see cref="MpiEnvironment"/> calls <c>MPI_Finalize</c>, which waits for the peers, which wait in a collective for
    /// the dying process: the job hangs. With it, the launcher reports the abort and ends every process.
    /// </remarks>
    public bool AbortOnUnhandledException { get; set; } = true;

    private void OnUnhandledException(object sender, UnhandledExceptionEventArgs e)
    {
        if (AbortOnUnhandledException && !_disposed)
        {
            Console.Error.WriteLine($"Unhandled exception in MPI rank {World.Rank}; aborting the MPI job (MPI_Abort). {e.ExceptionObject}");
            Console.Error.Flush();
            _library.Abort(_library.CommWorld, 1);
        }
    }

    internal static void Check(MpiLibrary library, int result, string function)
    {
        if (result != MpiLibrary.Success)
        {
            throw new MpiException(function, result, library.DescribeError(result));
        }
    }

    internal void ThrowIfDisposed()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
    }
}
