using System;
using System.Collections.Generic;
using System.Reflection;
using System.Runtime.InteropServices;

namespace BatchNorm.Mpi.Native;

/// <summary>
/// Finds and loads the system's MPI library, decides its ABI, and points the package's <c>LibraryImport</c>s at it.
/// </summary>
/// <remarks>
/// Order: the <c>BATCHNORM_MPI_LIBRARY</c> environment variable (a file name or path); else the launcher's
/// environment (Open MPI's <c>mpirun</c> sets <c>OMPI_COMM_WORLD_SIZE</c>, MPICH's Hydra <c>mpiexec</c> sets
/// <c>PMI_RANK</c>) picks the family; else (a singleton without launcher) MPICH, then Open MPI. The ABI is Open MPI's
/// when the library exports <c>ompi_mpi_comm_world</c>, MPICH's otherwise. The library is loaded with
/// <c>RTLD_GLOBAL</c>, as Open MPI's plugins may expect.
/// </remarks>
internal static partial class MpiLibraryLoader
{
    public const string EnvironmentVariable = "BATCHNORM_MPI_LIBRARY";

    private const int RtldNow = 2;
    private const int RtldGlobal = 0x100;

    private static readonly string[] s_openMpi = ["libmpi.so.40"];
    private static readonly string[] s_mpich = ["libmpich.so.12", "libmpi.so.12"];
    private static readonly object s_gate = new();
    private static MpiLibrary? s_library;

    /// <summary>Loads the library once per process.</summary>
    /// <exception cref="DllNotFoundException">No MPI library could be loaded.</exception>
    public static MpiLibrary Load()
    {
        lock (s_gate)
        {
            if (s_library is not null)
            {
                return s_library;
            }

            var tried = new List<string>();
            foreach (string candidate in Candidates())
            {
                nint handle = Open(candidate);
                if (handle == 0)
                {
                    tried.Add(candidate);
                    continue;
                }

                MpiLibrary library = NativeLibrary.TryGetExport(handle, "ompi_mpi_comm_world", out _)
                    ? new OpenMpiLibrary(candidate, handle)
                    : new MpichLibrary(candidate, handle);
                NativeLibrary.SetDllImportResolver(typeof(MpiLibraryLoader).Assembly, Resolve);
                s_library = library;
                return library;
            }

            throw new DllNotFoundException(
                $"No MPI library could be loaded (tried {string.Join(", ", tried)}). Install Open MPI (Debian: openmpi-bin) or MPICH (Debian: mpich), or set {EnvironmentVariable} to the library's path.");
        }
    }

    private static IEnumerable<string> Candidates()
    {
        string? overridden = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(overridden))
        {
            return [overridden];
        }

        if (Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null)
        {
            return s_openMpi;
        }

        if (Environment.GetEnvironmentVariable("PMI_RANK") is not null || Environment.GetEnvironmentVariable("PMI_FD") is not null)
        {
            return s_mpich;
        }

        return [.. s_mpich, .. s_openMpi];
    }

    private static nint Open(string name)
    {
        try
        {
            return dlopen(name, RtldNow | RtldGlobal);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc: fall back to the runtime's loader (without RTLD_GLOBAL).
            return NativeLibrary.TryLoad(name, out nint handle) ? handle : 0;
        }
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        MpiLibrary? library = s_library;
        if (library is null)
        {
            return 0;
        }

        bool wanted = libraryName switch
        {
            OpenMpiLibrary.LibraryName => library.Implementation == MpiImplementation.OpenMpi,
            MpichLibrary.LibraryName => library.Implementation == MpiImplementation.Mpich,
            _ => false,
        };
        return wanted ? library.Handle : 0;
    }

    [LibraryImport("libc.so.6", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint dlopen(string fileName, int flags);
}
