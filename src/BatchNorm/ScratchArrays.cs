namespace BatchNorm;

/// <summary>Arrays a layer keeps between calls and sizes on first use, so a call allocates only when a size changes.</summary>
internal static class ScratchArrays
{
    /// <summary>Makes <paramref name="array"/> exactly <paramref name="length"/> long: kept when it is, replaced (contents undefined) when not.</summary>
    public static void Ensure<T>(ref T[] array, int length)
    {
        if (array.Length != length)
        {
            array = new T[length];
        }
    }
}
