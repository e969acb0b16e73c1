using System;

namespace BatchNorm.Serialization;

/// <summary>The format's name and element size of each <see cref="SafeTensorsDType"/>.</summary>
internal static class SafeTensorsDTypes
{
    /// <summary>The name a file uses for <paramref name="dtype"/>, for example <c>F8_E5M2</c>.</summary>
    public static string ToName(SafeTensorsDType dtype) =>
        dtype switch
        {
            SafeTensorsDType.Bool => "BOOL",
            SafeTensorsDType.U8 => "U8",
            SafeTensorsDType.I8 => "I8",
            SafeTensorsDType.F8E5M2 => "F8_E5M2",
            SafeTensorsDType.F8E4M3 => "F8_E4M3",
            SafeTensorsDType.F8E8M0 => "F8_E8M0",
            SafeTensorsDType.I16 => "I16",
            SafeTensorsDType.U16 => "U16",
            SafeTensorsDType.F16 => "F16",
            SafeTensorsDType.BF16 => "BF16",
            SafeTensorsDType.I32 => "I32",
            SafeTensorsDType.U32 => "U32",
            SafeTensorsDType.F32 => "F32",
            SafeTensorsDType.F64 => "F64",
            SafeTensorsDType.I64 => "I64",
            SafeTensorsDType.U64 => "U64",
            _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Not a safetensors dtype."),
        };

    /// <summary>The dtype a file's name stands for; case-sensitive, as in the format.</summary>
    public static bool TryParse(string name, out SafeTensorsDType dtype)
    {
        foreach (SafeTensorsDType candidate in Enum.GetValues<SafeTensorsDType>())
        {
            if (string.Equals(ToName(candidate), name, StringComparison.Ordinal))
            {
                dtype = candidate;
                return true;
            }
        }

        dtype = default;
        return false;
    }

    /// <summary>The bytes of one element.</summary>
    public static int Size(SafeTensorsDType dtype) =>
        dtype switch
        {
            SafeTensorsDType.Bool or SafeTensorsDType.U8 or SafeTensorsDType.I8 or
            SafeTensorsDType.F8E5M2 or SafeTensorsDType.F8E4M3 or SafeTensorsDType.F8E8M0 => 1,
            SafeTensorsDType.I16 or SafeTensorsDType.U16 or SafeTensorsDType.F16 or SafeTensorsDType.BF16 => 2,
            SafeTensorsDType.I32 or SafeTensorsDType.U32 or SafeTensorsDType.F32 => 4,
            _ => 8,
        };
}
