using System;
using System.Runtime.InteropServices;

namespace BatchNorm.Mpi.Native;

/// <summary>Open MPI's ABI: <c>MPI_Comm</c>, <c>MPI_Datatype</c> and <c>MPI_Op</c> are pointers to exported globals; <c>MPI_IN_PLACE</c> is 1.</summary>
internal sealed unsafe partial class OpenMpiLibrary : MpiLibrary
{
    public const string LibraryName = "BatchNorm.Mpi.OpenMpi";

    private static readonly nint s_inPlace = 1;

    private readonly nint _commWorld;
    private readonly nint _double;
    private readonly nint _sum;

    public OpenMpiLibrary(string path, nint handle)
        : base(path, handle)
    {
        _commWorld = NativeLibrary.GetExport(handle, "ompi_mpi_comm_world");
        _double = NativeLibrary.GetExport(handle, "ompi_mpi_double");
        _sum = NativeLibrary.GetExport(handle, "ompi_mpi_op_sum");
    }

    public override MpiImplementation Implementation => MpiImplementation.OpenMpi;

    public override nint CommWorld => _commWorld;

    public override int InitThread(int required, out int provided) => MPI_Init_thread(null, null, required, out provided);

    public override int Initialized(out int flag) => MPI_Initialized(out flag);

    public override int Finalized(out int flag) => MPI_Finalized(out flag);

    public override int Finalize() => MPI_Finalize();

    public override int Abort(nint comm, int errorCode) => MPI_Abort(comm, errorCode);

    public override int CommRank(nint comm, out int rank) => MPI_Comm_rank(comm, out rank);

    public override int CommSize(nint comm, out int size) => MPI_Comm_size(comm, out size);

    public override int CommSplit(nint comm, int color, int key, out nint newComm) => MPI_Comm_split(comm, color, key, out newComm);

    public override int CommFree(nint comm) => MPI_Comm_free(ref comm);

    public override int Barrier(nint comm) => MPI_Barrier(comm);

    public override int AllGatherDouble(double* send, int count, double* receive, nint comm) =>
        MPI_Allgather(send, count, _double, receive, count, _double, comm);

    public override int AllReduceSumDoubleInPlace(double* values, int count, nint comm) =>
        MPI_Allreduce((void*)s_inPlace, values, count, _double, _sum, comm);

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
    private static partial int MPI_Abort(nint comm, int errorCode);

    [LibraryImport(LibraryName)]
    private static partial int MPI_Comm_rank(nint comm, out int rank);

    [LibraryImport(LibraryName)]
    private static partial int MPI_Comm_size(nint comm, out int size);

    [LibraryImport(LibraryName)]
    private static partial int MPI_Comm_split(nint comm, int color, int key, out nint newComm);

    [LibraryImport(LibraryName)]
    private static partial int MPI_Comm_free(ref nint comm);

    [LibraryImport(LibraryName)]
    private static partial int MPI_Barrier(nint comm);

    [LibraryImport(LibraryName)]
    private static partial int MPI_Allgather(void* send, int sendCount, nint sendType, void* receive, int receiveCount, nint receiveType, nint comm);

    [LibraryImport(LibraryName)]
    private static partial int MPI_Allreduce(void* send, void* receive, int count, nint type, nint op, nint comm);

    [LibraryImport(LibraryName)]
    private static partial int MPI_Error_string(int errorCode, byte* text, out int length);
}
