using System;

namespace BatchNorm.Mpi.Native;

/// <summary>
/// The MPI functions the package calls, with every handle widened to <see cref="nint"/> (Open MPI's handles are
/// pointers, MPICH's are <see cref="int"/>s), each returning the MPI error code.
/// </summary>
internal abstract unsafe class MpiLibrary
{
    public const int Success = 0;
    public const int ThreadSerialized = 2;

    protected MpiLibrary(string path, nint handle)
    {
        Path = path;
        Handle = handle;
    }

    public string Path { get; }

    public nint Handle { get; }

    public abstract MpiImplementation Implementation { get; }

    public abstract nint CommWorld { get; }

    public abstract int InitThread(int required, out int provided);

    public abstract int Initialized(out int flag);

    public abstract int Finalized(out int flag);

    public abstract int Finalize();

    public abstract int Abort(nint comm, int errorCode);

    public abstract int CommRank(nint comm, out int rank);

    public abstract int CommSize(nint comm, out int size);

    public abstract int CommSplit(nint comm, int color, int key, out nint newComm);

    public abstract int CommFree(nint comm);

    public abstract int Barrier(nint comm);

    public abstract int AllGatherDouble(double* send, int count, double* receive, nint comm);

    public abstract int AllReduceSumDoubleInPlace(double* values, int count, nint comm);

    public abstract int ErrorString(int errorCode, byte* text, out int length);

    /// <summary>The library's text for an error code, or a placeholder when even that fails.</summary>
    public string DescribeError(int errorCode)
    {
        // MPI_MAX_ERROR_STRING is 256 (Open MPI) or 512 (MPICH).
        byte* text = stackalloc byte[1024];
        if (ErrorString(errorCode, text, out int length) != Success || length < 0 || length > 1024)
        {
            return "(no description: MPI_Error_string failed)";
        }

        return new string((sbyte*)text, 0, length, System.Text.Encoding.UTF8).TrimEnd('\0', ' ');
    }
}
