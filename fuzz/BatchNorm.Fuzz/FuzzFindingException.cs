using System;

namespace BatchNorm.Fuzz;

/// <summary>A broken promise of the safetensors reader that <see cref="ReaderOracle"/> found; escaping the harness, AFL++ records it as a crash.</summary>
internal sealed class FuzzFindingException : Exception
{
    public FuzzFindingException()
    {
    }

    public FuzzFindingException(string message)
        : base("Fuzz finding: " + message)
    {
    }

    public FuzzFindingException(string message, Exception innerException)
        : base("Fuzz finding: " + message, innerException)
    {
    }
}
