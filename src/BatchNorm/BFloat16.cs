using System;
using System.Globalization;
using System.Runtime.InteropServices;

namespace BatchNorm;

/// <summary>
/// A 16-bit brain floating-point number: the upper half of an IEEE 754 <see cref="float"/> (a sign, 8 exponent bits and
/// 7 fraction bits), so it has a float's range with about 3 significant decimal digits.
/// </summary>
/// <remarks>
/// <para>
/// PyTorch: <c>torch.bfloat16</c>. .NET 10 has no such type (<c>System.Numerics.BFloat16</c> arrives with .NET 11);
/// this one is laid out as that type is (one <see cref="ushort"/> of bits), so a later version can reinterpret spans
/// of it.
/// </para>
/// <para>
/// Conversion from <see cref="float"/> rounds to the nearest value, ties to even (values beyond the largest finite one
/// round to infinity, as in IEEE 754); a NaN stays a NaN (quiet, with its sign and the upper bits of its payload).
/// Conversion to <see cref="float"/> is exact. <c>==</c> compares values as IEEE 754 does (NaN equals nothing,
/// <c>-0 == +0</c>); <see cref="Equals(BFloat16)"/> also counts a NaN equal to a NaN, as <see cref="Half.Equals(Half)"/> does.
/// </para>
/// </remarks>
[StructLayout(LayoutKind.Sequential, Size = 2)]
public readonly struct BFloat16 : IEquatable<BFloat16>
{
    private const ushort QuietBit = 0x0040;

    private readonly ushort _bits;

    private BFloat16(ushort bits) => _bits = bits;

    /// <summary>The bits of this value: those of the <see cref="float"/> it stands for, shifted down by 16.</summary>
    public ushort RawBits => _bits;

    /// <summary>The value whose bits are <paramref name="bits"/> (the upper half of a float's bits).</summary>
    /// <param name="bits">The 16 bits: sign, 8 exponent bits, 7 fraction bits.</param>
    /// <returns>The value, NaN payloads included, as given.</returns>
    public static BFloat16 FromRawBits(ushort bits) => new(bits);

    /// <summary>Rounds a <see cref="float"/> to the nearest <see cref="BFloat16"/>, ties to even; NaN stays NaN.</summary>
    /// <param name="value">The value to round.</param>
    public static explicit operator BFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            // Truncation alone could clear every fraction bit left and make an infinity of a NaN.
            return new BFloat16((ushort)((bits >> 16) | QuietBit));
        }

        // Round to nearest, ties to even: add half an ulp of the result, less one unless the kept last bit is odd.
        uint roundingBias = 0x7FFFu + ((bits >> 16) & 1);
        return new BFloat16((ushort)((bits + roundingBias) >> 16));
    }

    /// <summary>The exact <see cref="float"/> value of a <see cref="BFloat16"/>.</summary>
    /// <param name="value">The value to widen.</param>
    public static explicit operator float(BFloat16 value) => BitConverter.UInt32BitsToSingle((uint)value._bits << 16);

    /// <summary>Whether two values are equal as IEEE 754 compares them: NaN equals nothing, <c>-0</c> equals <c>+0</c>.</summary>
    /// <param name="left">The first value.</param>
    /// <param name="right">The second value.</param>
    public static bool operator ==(BFloat16 left, BFloat16 right) => (float)left == (float)right;

    /// <summary>Whether two values differ as IEEE 754 compares them (a NaN differs from everything).</summary>
    /// <param name="left">The first value.</param>
    /// <param name="right">The second value.</param>
    public static bool operator !=(BFloat16 left, BFloat16 right) => !(left == right);

    /// <inheritdoc/>
    /// <remarks>As <c>==</c>, except that a NaN equals a NaN (so a value always equals itself).</remarks>
    public bool Equals(BFloat16 other) => ((float)this).Equals((float)other);

    /// <inheritdoc/>
    /// <remarks><see langword="true"/> only for a boxed <see cref="BFloat16"/> that <see cref="Equals(BFloat16)"/> this one.</remarks>
    public override bool Equals(object? obj) => obj is BFloat16 other && Equals(other);

    /// <inheritdoc/>
    /// <remarks>That of the <see cref="float"/> value, so <c>-0</c> and <c>+0</c>, and all NaNs, hash alike.</remarks>
    public override int GetHashCode() => ((float)this).GetHashCode();

    /// <summary>The value as its <see cref="float"/> prints it, in the current culture.</summary>
    /// <returns>For example <c>1.5</c>, <c>-∞</c> or <c>NaN</c>.</returns>
    public override string ToString() => ((float)this).ToString(CultureInfo.CurrentCulture);
}
