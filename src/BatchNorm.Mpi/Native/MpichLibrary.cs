using System;
using System.Runtime.InteropServices;

namespace BatchNorm.Mpi.Native;

/// <summary>MPICH's ABI (also Intel MPI's and MVAPICH's): handles are <see cref="int"/> constants from <c>mpi.h</c>; <c>MPI_IN_PLACE</c> is -1.</summary>
internal sealed unsafe partial class MpichLibrary : MpiLibrary
{
    public const string LibraryName = "BatchNorm.Mpi.Mpich";

    private const int CommWorldHandle = 0x44000000;
    private const int DoubleHandle = 0x4c00080b;
    private const int SumHandle = 0x58000003;

    private static readonly nint s_inPlace = -1;

    public MpichLibrary(string path, nint handle)
        : base(path, handle)
    {
    }

    public override MpiImplementation Implementation => MpiImplementation.Mpich;

    public override nint CommWorld => CommWorldHandle;

    public override int InitThread(int required, out int provided) => MPI_Init_thread(null, null, required, out provided);

    public override int Initialized(out int flag) => MPI_Initialized(out flag);

    public override int Finalized(out int flag) => MPI_Finalized(out flag);

    public override int Finalize() => MPI_Finalize();

    public override int Abort(nint comm, int errorCode) => MPI_Abort((int)comm, errorCode);

    public override int CommRank(nint comm, out int rank) => MPI_Comm_rank((int)comm, out rank);

    public override int CommSize(nint comm, out int size) => MPI_Comm_size((int)comm, out size);

    public override int CommSplit(nint comm, int color, int key, out nint newComm)
    {
        int result = MPI_Comm_split((int)comm, color, key, out int created);
        newComm = created;
        return result;
    }

    public override int CommFree(nint comm)
    {
        int handle = (int)comm;
        return MPI_Comm_free(ref handle);
    }

    public override int Barrier(nint comm) => MPI_Barrier((int)comm);

    public override int AllGatherDouble(double* send, int count, double* receive, nint comm) =>
        MPI_Allgather(send, count, DoubleHandle, receive, count, DoubleHandle, (int)comm);

    public override int AllReduceSumDoubleInPlace(double* values, int count, nint comm) =>
        MPI_Allreduce((void*)s_inPlace, values, count, DoubleHandle, SumHandle, (int)comm);

    public override int ErrorString(int errorCode, byte* text, out int length) => MPI_Error_string(errorCode, text, out length);

    [LibraryImport(LibraryName)]
    private static partial int MPI_Init_thread(int* argc, byte*** argv, int required, out int provided);

    [LibraryImport(LibraryName)]
    private static partial int MPI_Initialized(out int flag);

    [LibraryImport(LibraryName)]
    private static partial int MPI_Finalized(out int flag);

    [LibraryImport(LibraryName)]
    private static partial int MPI_Finalize();

    [LibraryImport(LibraryName)]
    private static partial int MPI_Abort(int comm, int errorCode);

    [LibraryImport(LibraryName)]
    private static partial int MPI_Comm_rank(int comm, out int rank);

    [LibraryImport(LibraryName)]
    private static partial int MPI_Comm_size(int comm, out int size);

    [LibraryImport(LibraryName)]
    private static partial int MPI_Comm_split(int comm, int color, int key, out int newComm);

    [LibraryImport(LibraryName)]
    private static partial int MPI_Comm_free(ref int comm);

    [LibraryImport(LibraryName)]
    private static partial int MPI_Barrier(int comm);

    [LibraryImport(LibraryName)]
    private static partial int MPI_Allgather(void* send, int sendCount, int sendType, void* receive, int receiveCount, int receiveType, int comm);

    [LibraryImport(LibraryName)]
    private static partial int MPI_Allreduce(void* send, void* receive, int count, int type, int op, int comm);

    [LibraryImport(LibraryName)]
    private static partial int MPI_Error_string(int errorCode, byte* text, out int length);
}
