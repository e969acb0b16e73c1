using System;
using System.IO;
using System.Linq;
using System.Text;
using BatchNorm.Serialization;
using Xunit;
using static BatchNorm.Tests.Serialization.SafeTensorsTestKit;

namespace BatchNorm.Tests.Serialization;

/// <summary>
/// Each bad file gets an <see cref="InvalidDataException"/> whose message names the key and the problem, and leaves
/// the layer bit-identical.
/// </summary>
public class SafeTensorsBadFileTests
{
    private const int Channels = ValidLayerChannels;

    private static readonly byte[] s_data = ValidLayerData();

    public static TheoryData<string> Cases =>
    [
        "empty", "short-length", "header-beyond-file", "truncated-data", "malformed-json", "not-an-object", "invalid-utf8",
        "offsets-out-of-range", "offsets-overlap", "offsets-gap", "trailing-bytes", "offsets-reversed", "offsets-negative",
        "offsets-wrong-count", "bytes-mismatch", "unknown-dtype", "wrong-shape", "wrong-rank", "counter-not-scalar",
        "wrong-dtype", "counter-wrong-dtype", "counter-negative", "missing-key", "wrong-prefix",
        "duplicate-key", "metadata-not-strings", "entry-not-object", "missing-dtype", "statistic-f4", "statistic-f6",
        "statistic-f4-misaligned", "counter-c64",
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Load_BadFile_ThrowsNamingTheProblemAndChangesNothing(string kind)
    {
        (byte[] file, string[] fragments) = Build(kind);
        var layer = new BatchNorm1d<float>(Channels);
        Fill(layer, 3);
        layer.WeightGradient.Fill(0.25f);
        byte[] before = Snapshot(layer);

        InvalidDataException error = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(layer, file, "bn."));

        foreach (string fragment in fragments)
        {
            Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
        }

        Assert.Equal(before, Snapshot(layer));
    }

    [Theory]
    [InlineData(false, true, "bn.weight", "has no such parameter")]
    [InlineData(true, false, "bn.running_mean", "TrackRunningStatistics is false")]
    public void Load_KeyTheLayerDoesNotHave_Throws(bool affine, bool track, string key, string reason)
    {
        var layer = new BatchNorm1d<double>(Channels, affine: affine, trackRunningStatistics: track);
        Fill(layer, 4);
        byte[] before = Snapshot(layer);

        InvalidDataException error = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(layer, ValidFile(), "bn."));

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(layer));
    }

    [Fact]
    public void Load_ValidFile_Loads()
    {
        var layer = new BatchNorm1d<float>(Channels);

        SafeTensors.Load(layer, ValidFile(), "bn.");

        Assert.Equal([7f, 8f, 9f], layer.RunningMean.ToArray());
        Assert.Equal(5, layer.NumBatchesTracked);
    }

    [Fact]
    public void Load_BadStream_Throws()
    {
        var layer = new BatchNorm1d<float>(Channels);
        byte[] before = Snapshot(layer);
        byte[] file = ValidFile();

        Assert.Throws<InvalidDataException>(() => SafeTensors.Load(layer, new MemoryStream(file, 0, file.Length - 1), "bn."));
        Assert.Equal(before, Snapshot(layer));
    }

    private static string[] ValidEntries() => ValidLayerEntries();

    private static byte[] ValidFile() => BuildFile(Header(ValidEntries()), s_data);

    /// <summary>The valid file with entry <paramref name="index"/> of the header replaced.</summary>
    private static byte[] WithEntry(int index, string entry, byte[]? data = null)
    {
        string[] entries = ValidEntries();
        entries[index] = entry;
        return BuildFile(Header(entries), data ?? s_data);
    }

    private static (byte[] File, string[] Fragments) Build(string kind)
    {
        byte[] valid = ValidFile();
        return kind switch
        {
            "empty" => ([], ["0 bytes", "truncated"]),
            "short-length" => (valid[..5], ["5 bytes", "truncated"]),
            "header-beyond-file" => (BuildFile(Header(ValidEntries()), s_data, headerLength: (ulong)(valid.Length - 7)), ["header length", "truncated"]),
            "truncated-data" => (valid[..^4], ["'bn.num_batches_tracked'", "beyond the data section of 52 bytes", "truncated"]),
            "malformed-json" => (BuildFile("{\"bn.weight\":{\"dtype\":\"F32\",", s_data), ["not valid JSON"]),
            "not-an-object" => (BuildFile("[1, 2]", s_data), ["0x5B", "'{'"]),
            "invalid-utf8" => (BuildFile([.. "{\"bn.w"u8, 0xFF, .. "\":{}}"u8], s_data), ["UTF-8"]),
            "offsets-out-of-range" => (WithEntry(4, Entry("bn.num_batches_tracked", "I64", "[]", 56, 64)), ["'bn.num_batches_tracked'", "[56, 64]", "out of range"]),
            "offsets-overlap" => (WithEntry(1, Entry("bn.bias", "F32", "[3]", 8, 20)), ["'bn.bias'", "[8, 20]", "overlapping", "'bn.weight'"]),
            "offsets-gap" => (WithEntry(1, Entry("bn.bias", "F32", "[2]", 16, 24)), ["'bn.bias'", "bytes [12, 16)", "no gaps"]),
            "trailing-bytes" => (BuildFile(Header(ValidEntries()), Concat(s_data, [0, 0, 0, 0])), ["60 bytes", "cover only the first 56", "trailing"]),
            "offsets-reversed" => (WithEntry(0, Entry("bn.weight", "F32", "[3]", 12, 0)), ["'bn.weight'", "[12, 0]", "end before they begin"]),
            "offsets-negative" => (WithEntry(0, Entry("bn.weight", "F32", "[3]", -1, 11)), ["'bn.weight'", "'-1'", "data_offsets", "non-negative"]),
            "offsets-wrong-count" => (BuildFile(Header([.. ValidEntries()[1..], "\"bn.weight\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0]}"]), s_data), ["'bn.weight'", "1 numbers", "expected 2"]),
            "bytes-mismatch" => (WithEntry(0, Entry("bn.weight", "F64", "[3]", 0, 12)), ["'bn.weight'", "12 bytes", "F64", "need 24"]),
            "unknown-dtype" => (WithEntry(0, Entry("bn.weight", "F33", "[3]", 0, 12)), ["'bn.weight'", "'F33'", "not a safetensors dtype"]),
            "wrong-shape" => (WithEntry(0, Entry("bn.weight", "F32", "[1, 3]", 0, 12)), ["'bn.weight'", "shape [1, 3]", "needs [3]"]),
            "wrong-rank" => (WithEntry(2, Entry("bn.running_mean", "F16", "[6]", 24, 36)), ["'bn.running_mean'", "shape [6]", "needs [3]"]),
            "counter-not-scalar" => (WithEntry(4, Entry("bn.num_batches_tracked", "I64", "[1]", 48, 56)), ["'bn.num_batches_tracked'", "shape [1]", "scalar"]),
            "wrong-dtype" => (WithEntry(3, Entry("bn.running_var", "I32", "[3]", 36, 48)), ["'bn.running_var'", "dtype I32", "floating-point"]),
            "counter-wrong-dtype" => (WithEntry(4, Entry("bn.num_batches_tracked", "F64", "[]", 48, 56)), ["'bn.num_batches_tracked'", "dtype F64", "I64"]),
            "counter-negative" => (BuildFile(Header(ValidEntries()), Concat(s_data[..48], I64(-1))), ["'bn.num_batches_tracked'", "-1", "zero or more"]),
            "missing-key" => (BuildFile(Header([.. ValidEntries()[..3], Entry("bn.num_batches_tracked", "I64", "[]", 36, 44)]), Concat(s_data[..36], I64(5))), ["'bn.running_var'", "missing"]),
            "wrong-prefix" => (BuildFile(Header([.. ValidEntries().Select(e => e.Replace("\"bn.", "\"bn1.", StringComparison.Ordinal))]), s_data), ["'bn.weight'", "missing"]),
            "duplicate-key" => (BuildFile(Header([.. ValidEntries(), Entry("bn.weight", "F32", "[0]", 56, 56)]), s_data), ["'bn.weight'", "Duplicate property"]),
            "metadata-not-strings" => (BuildFile(Header(["\"__metadata__\":{\"epoch\":3}", .. ValidEntries()]), s_data), ["__metadata__", "'epoch'", "Number"]),
            "entry-not-object" => (BuildFile(Header([.. ValidEntries(), "\"bn.extra\":[1]"]), s_data), ["'bn.extra'", "Array"]),
            "missing-dtype" => (WithEntry(1, "\"bn.bias\":{\"shape\":[3],\"data_offsets\":[12,24]}"), ["'bn.bias'", "'dtype'"]),
            "statistic-f4" => (WithEntry(3, Entry("bn.running_var", "F4", "[24]", 36, 48)), ["'bn.running_var'", "dtype F4", "floating-point"]),
            "statistic-f6" => (WithEntry(3, Entry("bn.running_var", "F6_E3M2", "[16]", 36, 48)), ["'bn.running_var'", "dtype F6_E3M2", "floating-point"]),
            "statistic-f4-misaligned" => (WithEntry(3, Entry("bn.running_var", "F4", "[23]", 36, 48)), ["'bn.running_var'", "23 × 4 bits = 92 bits", "not a whole number of bytes"]),
            "counter-c64" => (WithEntry(4, Entry("bn.num_batches_tracked", "C64", "[]", 48, 56)), ["'bn.num_batches_tracked'", "dtype C64", "I64"]),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "No such case."),
        };
    }
}
