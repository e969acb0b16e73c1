using System;
using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Unicode;

namespace BatchNorm.Serialization;

/// <summary>
/// The pieces of the header JSON the reference writer (serde_json's compact form) produces: strings as raw UTF-8 with
/// only <c>"</c>, <c>\</c> and U+0000 to U+001F escaped, and integers in decimal.
/// </summary>
internal static class SafeTensorsJson
{
    private static ReadOnlySpan<byte> HexDigits => "0123456789abcdef"u8;

    /// <summary>The UTF-8 bytes of <paramref name="text"/>, or null when it holds a lone UTF-16 surrogate (which has none).</summary>
    public static byte[]? ToUtf8(string text)
    {
        byte[] buffer = new byte[Encoding.UTF8.GetMaxByteCount(text.Length)];
        OperationStatus status = Utf8.FromUtf16(text, buffer, out _, out int written, replaceInvalidSequences: false);
        return status == OperationStatus.Done ? buffer[..written] : null;
    }

    /// <summary>
    /// Writes <paramref name="utf8"/> as a JSON string: <c>\"</c> and <c>\\</c>; <c>\b \t \n \f \r</c>; the other
    /// bytes below 0x20 as <c>\u00xx</c> with lowercase hex digits; every other byte as it is, so characters above
    /// U+FFFF, DEL and U+2028 stay raw UTF-8.
    /// </summary>
    public static void WriteString(IBufferWriter<byte> json, ReadOnlySpan<byte> utf8)
    {
        json.Write("\""u8);
        int start = 0;
        for (int i = 0; i < utf8.Length; i++)
        {
            byte b = utf8[i];
            if (b >= 0x20 && b != (byte)'"' && b != (byte)'\\')
            {
                continue;
            }

            json.Write(utf8[start..i]);
            WriteEscape(json, b);
            start = i + 1;
        }

        json.Write(utf8[start..]);
        json.Write("\""u8);
    }

    /// <summary>Writes <paramref name="value"/> in decimal, as serde_json writes an integer.</summary>
    public static void WriteInteger(IBufferWriter<byte> json, long value)
    {
        Span<byte> span = json.GetSpan(20);
        value.TryFormat(span, out int written, default, CultureInfo.InvariantCulture);
        json.Advance(written);
    }

    private static void WriteEscape(IBufferWriter<byte> json, byte b)
    {
        ReadOnlySpan<byte> shortForm = b switch
        {
            (byte)'"' => "\\\""u8,
            (byte)'\\' => "\\\\"u8,
            (byte)'\b' => "\\b"u8,
            (byte)'\t' => "\\t"u8,
            (byte)'\n' => "\\n"u8,
            (byte)'\f' => "\\f"u8,
            (byte)'\r' => "\\r"u8,
            _ => default,
        };
        if (!shortForm.IsEmpty)
        {
            json.Write(shortForm);
            return;
        }

        ReadOnlySpan<byte> escape = [(byte)'\\', (byte)'u', (byte)'0', (byte)'0', HexDigits[b >> 4], HexDigits[b & 0xF]];
        json.Write(escape);
    }
}
