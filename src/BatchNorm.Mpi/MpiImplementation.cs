namespace BatchNorm.Mpi;

/// <summary>The MPI library family, which fixes the handle ABI.</summary>
/// <remarks>Reported by <see cref="MpiEnvironment.Implementation"/>. The two families' handles (communicators, datatypes, operations) are not binary-compatible, so the package binds each separately.</remarks>
public enum MpiImplementation
{
    /// <summary>Open MPI (<c>libmpi.so.40</c>): handles are addresses of exported globals such as <c>ompi_mpi_comm_world</c>.</summary>
    OpenMpi,

    /// <summary>MPICH and its ABI-compatible derivatives (<c>libmpich.so.12</c>, <c>libmpi.so.12</c>): handles are fixed integers.</summary>
    Mpich,
}
