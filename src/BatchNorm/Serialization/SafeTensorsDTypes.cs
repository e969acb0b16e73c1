using System;

namespace BatchNorm.Serialization;

/// <summary>What the safetensors format says about each <see cref="SafeTensorsDType"/>: its element size in bits.</summary>
/// <remarks>
/// <see cref="BitSize"/> is an extension method (<c>dtype.BitSize()</c>); it replaces a byte size, which cannot describe
/// the packed 4- and 6-bit types.
/// </remarks>
public static class SafeTensorsDTypes
{
    /// <summary>The format's declaration order (increasing alignment), which its writer sorts by.</summary>
    private static readonly SafeTensorsDType[] s_formatOrder =
    [
        SafeTensorsDType.Bool, SafeTensorsDType.F4, SafeTensorsDType.F6E2M3, SafeTensorsDType.F6E3M2,
        SafeTensorsDType.U8, SafeTensorsDType.I8, SafeTensorsDType.F8E5M2, SafeTensorsDType.F8E4M3,
        SafeTensorsDType.F8E8M0, SafeTensorsDType.F8E4M3Fnuz, SafeTensorsDType.F8E5M2Fnuz, SafeTensorsDType.I16,
        SafeTensorsDType.U16, SafeTensorsDType.F16, SafeTensorsDType.BF16, SafeTensorsDType.I32,
        SafeTensorsDType.U32, SafeTensorsDType.F32, SafeTensorsDType.C64, SafeTensorsDType.F64,
        SafeTensorsDType.I64, SafeTensorsDType.U64,
    ];

    /// <summary>The bits one element of <paramref name="dtype"/> takes: 4 for <c>F4</c>, 6 for <c>F6_E2M3</c> and <c>F6_E3M2</c>, 64 for <c>C64</c>, and 8 times the byte size of every other type.</summary>
    /// <param name="dtype">The element type.</param>
    /// <returns>The element's size in bits, as the format's <c>Dtype::bitsize</c>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dtype"/> is not a member of <see cref="SafeTensorsDType"/>.</exception>
    /// <remarks>
    /// This method effectively computes the element size the format uses to check a tensor's byte range: a tensor of
    /// <c>n</c> elements holds <c>n * BitSize(dtype) / 8</c> bytes, and a file whose <c>n * BitSize(dtype)</c> is not a
    /// multiple of 8 is invalid.
    /// </remarks>
    public static int BitSize(this SafeTensorsDType dtype) =>
        dtype switch
        {
            SafeTensorsDType.F4 => 4,
            SafeTensorsDType.F6E2M3 or SafeTensorsDType.F6E3M2 => 6,
            SafeTensorsDType.Bool or SafeTensorsDType.U8 or SafeTensorsDType.I8 or SafeTensorsDType.F8E5M2 or
            SafeTensorsDType.F8E4M3 or SafeTensorsDType.F8E8M0 or SafeTensorsDType.F8E4M3Fnuz or
            SafeTensorsDType.F8E5M2Fnuz => 8,
            SafeTensorsDType.I16 or SafeTensorsDType.U16 or SafeTensorsDType.F16 or SafeTensorsDType.BF16 => 16,
            SafeTensorsDType.I32 or SafeTensorsDType.U32 or SafeTensorsDType.F32 => 32,
            SafeTensorsDType.C64 or SafeTensorsDType.F64 or SafeTensorsDType.I64 or SafeTensorsDType.U64 => 64,
            _ => throw NotADType(dtype),
        };

    /// <summary>The name a file uses for <paramref name="dtype"/>, for example <c>F8_E5M2</c>.</summary>
    internal static string ToName(SafeTensorsDType dtype) =>
        dtype switch
        {
            SafeTensorsDType.Bool => "BOOL",
            SafeTensorsDType.F4 => "F4",
            SafeTensorsDType.F6E2M3 => "F6_E2M3",
            SafeTensorsDType.F6E3M2 => "F6_E3M2",
            SafeTensorsDType.U8 => "U8",
            SafeTensorsDType.I8 => "I8",
            SafeTensorsDType.F8E5M2 => "F8_E5M2",
            SafeTensorsDType.F8E4M3 => "F8_E4M3",
            SafeTensorsDType.F8E8M0 => "F8_E8M0",
            SafeTensorsDType.F8E4M3Fnuz => "F8_E4M3FNUZ",
            SafeTensorsDType.F8E5M2Fnuz => "F8_E5M2FNUZ",
            SafeTensorsDType.I16 => "I16",
            SafeTensorsDType.U16 => "U16",
            SafeTensorsDType.F16 => "F16",
            SafeTensorsDType.BF16 => "BF16",
            SafeTensorsDType.I32 => "I32",
            SafeTensorsDType.U32 => "U32",
            SafeTensorsDType.F32 => "F32",
            SafeTensorsDType.C64 => "C64",
            SafeTensorsDType.F64 => "F64",
            SafeTensorsDType.I64 => "I64",
            SafeTensorsDType.U64 => "U64",
            _ => throw NotADType(dtype),
        };

    /// <summary>The dtype a file's name stands for; case-sensitive, as in the format.</summary>
    internal static bool TryParse(string name, out SafeTensorsDType dtype)
    {
        foreach (SafeTensorsDType candidate in s_formatOrder)
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

    /// <summary>The place of <paramref name="dtype"/> in the format's order: 0 for <c>BOOL</c> up to 21 for <c>U64</c>.</summary>
    internal static int FormatRank(SafeTensorsDType dtype) => Array.IndexOf(s_formatOrder, dtype);

    private static ArgumentOutOfRangeException NotADType(SafeTensorsDType dtype) =>
        new(nameof(dtype), dtype, "Not a safetensors dtype.");
}
