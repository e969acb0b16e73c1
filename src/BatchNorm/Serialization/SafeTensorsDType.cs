namespace BatchNorm.Serialization;

/// <summary>
/// The element types of the safetensors format, in the format's order of increasing alignment. Each member's name in a
/// file is the format's spelling: <c>BOOL</c>, <c>U8</c>, <c>I8</c>, <c>F8_E5M2</c>, <c>F8_E4M3</c>, <c>F8_E8M0</c>,
/// <c>I16</c>, <c>U16</c>, <c>F16</c>, <c>BF16</c>, <c>I32</c>, <c>U32</c>, <c>F32</c>, <c>F64</c>, <c>I64</c>,
/// <c>U64</c>.
/// </summary>
/// <remarks>
/// Every type is stored little-endian. <see cref="SafeTensorsReader"/> accepts a file holding any of them; it converts
/// <see cref="F16"/>, <see cref="BF16"/>, <see cref="F32"/> and <see cref="F64"/> to <see cref="float"/> or
/// <see cref="double"/>, and reads <see cref="I64"/> as <see cref="long"/>.
/// </remarks>
public enum SafeTensorsDType
{
    /// <summary><c>BOOL</c>: one byte, 0 or 1.</summary>
    Bool,

    /// <summary><c>U8</c>: unsigned 8-bit integer.</summary>
    U8,

    /// <summary><c>I8</c>: signed 8-bit integer.</summary>
    I8,

    /// <summary><c>F8_E5M2</c>: 8-bit float, 5 exponent and 2 mantissa bits.</summary>
    F8E5M2,

    /// <summary><c>F8_E4M3</c>: 8-bit float, 4 exponent and 3 mantissa bits.</summary>
    F8E4M3,

    /// <summary><c>F8_E8M0</c>: 8-bit exponent-only float (a power-of-two scale).</summary>
    F8E8M0,

    /// <summary><c>I16</c>: signed 16-bit integer.</summary>
    I16,

    /// <summary><c>U16</c>: unsigned 16-bit integer.</summary>
    U16,

    /// <summary><c>F16</c>: IEEE 754 half precision (<see cref="System.Half"/>).</summary>
    F16,

    /// <summary><c>BF16</c>: bfloat16, the upper 16 bits of a <see cref="float"/>.</summary>
    BF16,

    /// <summary><c>I32</c>: signed 32-bit integer.</summary>
    I32,

    /// <summary><c>U32</c>: unsigned 32-bit integer.</summary>
    U32,

    /// <summary><c>F32</c>: IEEE 754 single precision (<see cref="float"/>).</summary>
    F32,

    /// <summary><c>F64</c>: IEEE 754 double precision (<see cref="double"/>).</summary>
    F64,

    /// <summary><c>I64</c>: signed 64-bit integer (<see cref="long"/>; PyTorch's <c>torch.long</c>).</summary>
    I64,

    /// <summary><c>U64</c>: unsigned 64-bit integer.</summary>
    U64,
}
