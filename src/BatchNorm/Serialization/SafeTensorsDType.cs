namespace BatchNorm.Serialization;

/// <summary>
/// The element types of the safetensors format (0.8): the 22 types a file may name, listed here in the format's order
/// of increasing alignment: <c>BOOL</c>, <c>F4</c>, <c>F6_E2M3</c>, <c>F6_E3M2</c>, <c>U8</c>, <c>I8</c>,
/// <c>F8_E5M2</c>, <c>F8_E4M3</c>, <c>F8_E8M0</c>, <c>F8_E4M3FNUZ</c>, <c>F8_E5M2FNUZ</c>, <c>I16</c>, <c>U16</c>,
/// <c>F16</c>, <c>BF16</c>, <c>I32</c>, <c>U32</c>, <c>F32</c>, <c>C64</c>, <c>F64</c>, <c>I64</c>, <c>U64</c>.
/// </summary>
/// <remarks>
/// <para>
/// Every type is stored little-endian; <c>F4</c> and the two <c>F6</c> types are packed, so a tensor of them holds
/// <c>elements * bits / 8</c> bytes (<see cref="SafeTensorsDTypes.BitSize"/>). <see cref="SafeTensorsReader"/> opens a
/// file holding any of them; it converts <see cref="F16"/>, <see cref="BF16"/>, <see cref="F32"/> and
/// <see cref="F64"/> to <see cref="float"/> or <see cref="double"/>, and reads <see cref="I64"/> as
/// <see cref="long"/>; the others are available as raw bytes (<see cref="SafeTensorsReader.GetData"/>).
/// </para>
/// <para>
/// The numeric values are not the format's order: the six types safetensors added last (<see cref="F4"/>,
/// <see cref="F6E2M3"/>, <see cref="F6E3M2"/>, <see cref="F8E4M3Fnuz"/>, <see cref="F8E5M2Fnuz"/>, <see cref="C64"/>)
/// take the values 16 to 21, so that the others keep theirs.
/// </para>
/// </remarks>
public enum SafeTensorsDType
{
    /// <summary><c>BOOL</c>: one byte, 0 or 1.</summary>
    Bool = 0,

    /// <summary><c>F4</c>: 4-bit float (OCP MX FP4, E2M1), two elements per byte.</summary>
    F4 = 16,

    /// <summary><c>F6_E2M3</c>: 6-bit float (OCP MX FP6), 2 exponent and 3 mantissa bits, packed.</summary>
    F6E2M3 = 17,

    /// <summary><c>F6_E3M2</c>: 6-bit float (OCP MX FP6), 3 exponent and 2 mantissa bits, packed.</summary>
    F6E3M2 = 18,

    /// <summary><c>U8</c>: unsigned 8-bit integer.</summary>
    U8 = 1,

    /// <summary><c>I8</c>: signed 8-bit integer.</summary>
    I8 = 2,

    /// <summary><c>F8_E5M2</c>: 8-bit float, 5 exponent and 2 mantissa bits.</summary>
    F8E5M2 = 3,

    /// <summary><c>F8_E4M3</c>: 8-bit float, 4 exponent and 3 mantissa bits.</summary>
    F8E4M3 = 4,

    /// <summary><c>F8_E8M0</c>: 8-bit exponent-only float (a power-of-two scale).</summary>
    F8E8M0 = 5,

    /// <summary><c>F8_E4M3FNUZ</c>: 8-bit float, 4 exponent and 3 mantissa bits, finite, no negative zero.</summary>
    F8E4M3Fnuz = 19,

    /// <summary><c>F8_E5M2FNUZ</c>: 8-bit float, 5 exponent and 2 mantissa bits, finite, no negative zero.</summary>
    F8E5M2Fnuz = 20,

    /// <summary><c>I16</c>: signed 16-bit integer.</summary>
    I16 = 6,

    /// <summary><c>U16</c>: unsigned 16-bit integer.</summary>
    U16 = 7,

    /// <summary><c>F16</c>: IEEE 754 half precision (<see cref="System.Half"/>).</summary>
    F16 = 8,

    /// <summary><c>BF16</c>: bfloat16, the upper 16 bits of a <see cref="float"/>.</summary>
    BF16 = 9,

    /// <summary><c>I32</c>: signed 32-bit integer.</summary>
    I32 = 10,

    /// <summary><c>U32</c>: unsigned 32-bit integer.</summary>
    U32 = 11,

    /// <summary><c>F32</c>: IEEE 754 single precision (<see cref="float"/>).</summary>
    F32 = 12,

    /// <summary><c>C64</c>: complex number of two <see cref="float"/> parts, real first (PyTorch's <c>torch.complex64</c>).</summary>
    C64 = 21,

    /// <summary><c>F64</c>: IEEE 754 double precision (<see cref="double"/>).</summary>
    F64 = 13,

    /// <summary><c>I64</c>: signed 64-bit integer (<see cref="long"/>; PyTorch's <c>torch.long</c>).</summary>
    I64 = 14,

    /// <summary><c>U64</c>: unsigned 64-bit integer.</summary>
    U64 = 15,
}
