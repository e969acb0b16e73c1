using System;
using System.IO;
using System.Linq;
using BatchNorm.Serialization;
using Xunit;
using static BatchNorm.Tests.Serialization.SafeTensorsTestKit;

namespace BatchNorm.Tests.Serialization;

/// <summary>
/// The writer's bytes against the reference writer's (<c>save_file</c>, serde_json's compact JSON), laid out by hand:
/// raw UTF-8 for every character but <c>"</c>, <c>\</c> and U+0000 to U+001F; tensors by dtype, the format's last
/// first, then by the UTF-8 bytes of their names; several metadata entries by the UTF-8 bytes of their keys.
/// </summary>
public class SafeTensorsWriterFormatTests
{
    private static readonly byte[] s_grinning = [0xF0, 0x9F, 0x98, 0x80];        // U+1F600, UTF-16 D83D DE00

    private static readonly byte[] s_fullwidthExclamation = [0xEF, 0xBC, 0x81];  // U+FF01

    private static readonly byte[] s_lineSeparator = [0xE2, 0x80, 0xA8];         // U+2028

    private static readonly byte[] s_eAcute = [0xC3, 0xA9];                      // U+00E9

    [Fact]
    public void Write_NamesOrderedByUtf8Bytes_NotByUtf16CodeUnits()
    {
        // UTF-16 puts U+1F600 (D83D …) before U+FF01; UTF-8 (F0 … after EF …) and the reference put it after.
        Assert.True(string.CompareOrdinal("k.\U0001F600", "k.\uFF01") < 0);
        var writer = new SafeTensorsWriter();
        writer.Add<float>("k.\U0001F600", [1f], [1]);
        writer.Add<float>("k.\uFF01", [2f], [1]);

        byte[] header = Concat(
            Ascii("{\"k."), s_fullwidthExclamation, Ascii("\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"),
            Ascii("\"k."), s_grinning, Ascii("\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}"));

        Assert.Equal(BuildFile(Padded(header, 4), Concat(F32(2f), F32(1f))), writer.ToArray());
    }

    [Fact]
    public void Write_CharactersAboveFFFF_DelAndLineSeparator_AreRawUtf8()
    {
        var writer = new SafeTensorsWriter();
        writer.Metadata["\U0001F600"] = "\u2028\u007F";
        writer.Add<float>("a\u007F\u2028\U0001F600", [0.5f], []);

        byte[] header = Concat(
            Ascii("{\"__metadata__\":{\""), s_grinning, Ascii("\":\""), s_lineSeparator, [0x7F], Ascii("\"},"),
            Ascii("\"a"), [0x7F], s_lineSeparator, s_grinning, Ascii("\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}"));

        byte[] file = writer.ToArray();
        Assert.Equal(BuildFile(Padded(header, 4), F32(0.5f)), file);
        Assert.DoesNotContain((byte)'\\', file);
    }

    [Fact]
    public void Write_ControlCharactersQuoteAndBackslash_AreEscapedAsSerdeJson()
    {
        // Short forms for \b \t \n \f \r, \u00xx with lowercase hex for the other controls, '/' left alone.
        var writer = new SafeTensorsWriter();
        writer.Metadata["k\n"] = "v\u0007\"";
        writer.Add<float>("c\0\u0001\b\t\n\u000B\f\r\u001B\u001F\"\\/", [1f], [1]);

        byte[] header = Ascii(
            "{\"__metadata__\":{\"k\\n\":\"v\\u0007\\\"\"}," +
            "\"c\\u0000\\u0001\\b\\t\\n\\u000b\\f\\r\\u001b\\u001f\\\"\\\\/\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}");

        Assert.Equal(BuildFile(Padded(header, 2), F32(1f)), writer.ToArray());
        Assert.Equal(["c\0\u0001\b\t\n\u000B\f\r\u001B\u001F\"\\/"], new SafeTensorsReader(writer.ToArray()).Tensors.Select(t => t.Name));
    }

    [Fact]
    public void Write_SeveralMetadataEntries_SortedByUtf8BytesOfTheKeys()
    {
        // UTF-16 order would be Z, z, é, U+1F600, U+FF01; UTF-8 order swaps the last two.
        var writer = new SafeTensorsWriter();
        writer.Metadata["\U0001F600"] = "1";
        writer.Metadata["\uFF01"] = "2";
        writer.Metadata["\u00E9"] = "3";
        writer.Metadata["z"] = "4";
        writer.Metadata["Z"] = "5";

        byte[] header = Concat(
            Ascii("{\"__metadata__\":{\"Z\":\"5\",\"z\":\"4\",\""), s_eAcute, Ascii("\":\"3\",\""),
            s_fullwidthExclamation, Ascii("\":\"2\",\""), s_grinning, Ascii("\":\"1\"}}"));

        Assert.Equal(BuildFile(Padded(header, 0), []), writer.ToArray());
    }

    [Fact]
    public void Write_TensorsOrderedByDTypeFormatsLastFirst_ThenName()
    {
        // The format's order ends F16, BF16, I32, U32, F32, C64, F64, I64, U64: so I64, F64, F32, F16 here, names
        // deciding only within a dtype.
        var writer = new SafeTensorsWriter();
        writer.Add<Half>("a", [(Half)1], [1]);
        writer.Add<float>("b", [2f], [1]);
        writer.Add<double>("c", [3.0], [1]);
        writer.Add<long>("d", [4L], [1]);
        writer.Add<float>("B", [5f], [1]);

        byte[] header = Ascii(
            "{\"d\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}," +
            "\"c\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[8,16]}," +
            "\"B\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[16,20]}," +
            "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[20,24]}," +
            "\"a\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[24,26]}}");

        byte[] data = Concat(I64(4), F64(3.0), F32(5f), F32(2f), [0x00, 0x3C]);
        Assert.Equal(BuildFile(Padded(header, 7), data), writer.ToArray());
    }

    [Fact]
    public void Add_NameWithLoneSurrogate_ThrowsAndAddsNothing()
    {
        var writer = new SafeTensorsWriter();

        ArgumentException single = Assert.Throws<ArgumentException>(() => writer.Add<float>("bad\uD800", [1f], [1]));
        ArgumentException layer = Assert.Throws<ArgumentException>(() => writer.AddLayer(new BatchNorm1d<float>(2), "bn\uDC00."));

        Assert.Equal("name", single.ParamName);
        Assert.Contains("lone UTF-16 surrogate", single.Message, StringComparison.Ordinal);
        Assert.Contains("lone UTF-16 surrogate", layer.Message, StringComparison.Ordinal);
        Assert.Equal(0, writer.Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WriteTo_MetadataWithLoneSurrogate_ThrowsBeforeWriting(bool inKey)
    {
        // Built here: an attribute argument cannot carry a lone surrogate (it is stored as UTF-8).
        var writer = new SafeTensorsWriter();
        writer.Add<float>("x", [1f], [1]);
        writer.Metadata[inKey ? "\uDE00" : "k"] = inKey ? "v" : "\uD83D";
        var stream = new MemoryStream();

        InvalidOperationException error = Assert.Throws<InvalidOperationException>(() => writer.WriteTo(stream));

        Assert.Contains("lone UTF-16 surrogate", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, stream.Length);
    }

    /// <summary>The bytes of an ASCII string (the JSON's syntax, written out as it stands in the file).</summary>
    private static byte[] Ascii(string text)
    {
        Assert.True(text.All(char.IsAscii), "Only ASCII here; other characters are spelled out as UTF-8 bytes.");
        return [.. text.Select(c => (byte)c)];
    }

    /// <summary>The header followed by <paramref name="spaces"/> spaces (counted by hand), checked to reach a multiple of 8 bytes.</summary>
    private static byte[] Padded(byte[] header, int spaces)
    {
        byte[] padded = [.. header, .. Enumerable.Repeat((byte)' ', spaces)];
        Assert.Equal(0, padded.Length % 8);
        return padded;
    }
}
