using System;

namespace BatchNorm.Mpi;

/// <summary>An MPI call returned an error code.</summary>
/// <remarks>
/// MPI's default error handler, <c>MPI_ERRORS_ARE_FATAL</c>, aborts the whole job before a failing call returns, so
/// this exception is seen only for errors the library reports by return code (for example in <c>MPI_Init_thread</c>, or
/// when an error handler that returns has been installed).
/// </remarks>
public sealed class MpiException : InvalidOperationException
{
    /// <summary>Creates the exception for <paramref name="errorCode"/> returned by <paramref name="function"/>.</summary>
    /// <param name="function">The MPI function, for example <c>MPI_Allreduce</c>.</param>
    /// <param name="errorCode">The code it returned.</param>
    /// <param name="errorString">The library's text for the code (<c>MPI_Error_string</c>).</param>
    /// <remarks>The message is <c>"{function} failed with MPI error {errorCode}: {errorString}"</c>.</remarks>
    public MpiException(string function, int errorCode, string errorString)
        : base($"{function} failed with MPI error {errorCode}: {errorString}")
    {
        Function = function;
        ErrorCode = errorCode;
    }

    /// <summary>The MPI function that failed.</summary>
    /// <remarks>Its C name, for example <c>MPI_Comm_split</c>.</remarks>
    public string Function { get; }

    /// <summary>The error code it returned.</summary>
    /// <remarks>The raw code, never <c>MPI_SUCCESS</c> (0); its meaning beyond that is the library's (Open MPI and MPICH number their errors differently).</remarks>
    public int ErrorCode { get; }
}
