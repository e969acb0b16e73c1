using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using BatchNorm.Serialization;
using Xunit;
using static BatchNorm.Tests.Serialization.SafeTensorsTestKit;

namespace BatchNorm.Tests.Serialization;

/// <summary>
/// The format's 22 dtypes (safetensors 0.8), in files laid out by hand: each opens, its bytes are where the header
/// says, packed sub-byte types take <c>elements * bits / 8</c> bytes, and a count whose bits are not whole bytes is a
/// format error.
/// </summary>
public class SafeTensorsDTypeFormatTests
{
    /// <summary>Every dtype in the format's order (its <c>Dtype</c> enum), with its name, bits, and a shape of whole bytes with its byte count.</summary>
    private static readonly (string Name, SafeTensorsDType DType, int Bits, string Shape, int Bytes)[] s_dtypes =
    [
        ("BOOL", SafeTensorsDType.Bool, 8, "[2]", 2),
        ("F4", SafeTensorsDType.F4, 4, "[2]", 1),
        ("F6_E2M3", SafeTensorsDType.F6E2M3, 6, "[4]", 3),
        ("F6_E3M2", SafeTensorsDType.F6E3M2, 6, "[2, 2]", 3),
        ("U8", SafeTensorsDType.U8, 8, "[1]", 1),
        ("I8", SafeTensorsDType.I8, 8, "[3]", 3),
        ("F8_E5M2", SafeTensorsDType.F8E5M2, 8, "[1]", 1),
        ("F8_E4M3", SafeTensorsDType.F8E4M3, 8, "[1]", 1),
        ("F8_E8M0", SafeTensorsDType.F8E8M0, 8, "[1]", 1),
        ("F8_E4M3FNUZ", SafeTensorsDType.F8E4M3Fnuz, 8, "[2]", 2),
        ("F8_E5M2FNUZ", SafeTensorsDType.F8E5M2Fnuz, 8, "[1]", 1),
        ("I16", SafeTensorsDType.I16, 16, "[1]", 2),
        ("U16", SafeTensorsDType.U16, 16, "[1]", 2),
        ("F16", SafeTensorsDType.F16, 16, "[1]", 2),
        ("BF16", SafeTensorsDType.BF16, 16, "[1]", 2),
        ("I32", SafeTensorsDType.I32, 32, "[1]", 4),
        ("U32", SafeTensorsDType.U32, 32, "[1]", 4),
        ("F32", SafeTensorsDType.F32, 32, "[1]", 4),
        ("C64", SafeTensorsDType.C64, 64, "[2]", 16),
        ("F64", SafeTensorsDType.F64, 64, "[]", 8),
        ("I64", SafeTensorsDType.I64, 64, "[1]", 8),
        ("U64", SafeTensorsDType.U64, 64, "[1]", 8),
    ];

    public static TheoryData<SafeTensorsDType, int> BitSizes()
    {
        var data = new TheoryData<SafeTensorsDType, int>();
        foreach ((_, SafeTensorsDType dtype, int bits, _, _) in s_dtypes)
        {
            data.Add(dtype, bits);
        }

        return data;
    }

    [Fact]
    public void DType_NamesExactlyTheFormats22_AndKeepsTheValuesOfTheFirst16()
    {
        Assert.Equal(
            s_dtypes.Select(d => d.DType).Order(),
            Enum.GetValues<SafeTensorsDType>().Order());

        // The 16 members that existed before keep their numeric values (compiled into callers).
        int[] before = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
        SafeTensorsDType[] members =
        [
            SafeTensorsDType.Bool, SafeTensorsDType.U8, SafeTensorsDType.I8, SafeTensorsDType.F8E5M2, SafeTensorsDType.F8E4M3,
            SafeTensorsDType.F8E8M0, SafeTensorsDType.I16, SafeTensorsDType.U16, SafeTensorsDType.F16, SafeTensorsDType.BF16,
            SafeTensorsDType.I32, SafeTensorsDType.U32, SafeTensorsDType.F32, SafeTensorsDType.F64, SafeTensorsDType.I64,
            SafeTensorsDType.U64,
        ];
        Assert.Equal(before, members.Select(m => (int)m));
    }

    [Theory]
    [MemberData(nameof(BitSizes))]
    public void BitSize_IsTheFormatsBitSize(SafeTensorsDType dtype, int bits)
    {
        Assert.Equal(bits, dtype.BitSize());
        Assert.Equal(bits, SafeTensorsDTypes.BitSize(dtype));
    }

    [Fact]
    public void BitSize_NotADType_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ((SafeTensorsDType)22).BitSize());

    [Fact]
    public void FormatRank_IsTheFormatsDeclarationOrder()
    {
        Assert.Equal(Enumerable.Range(0, 22), s_dtypes.Select(d => SafeTensorsDTypes.FormatRank(d.DType)));
    }

    [Fact]
    public void Read_OneTensorOfEachDType_OpensAndItsF32LayerLoadsExactly()
    {
        // The valid layer at [0, 56), then one tensor per dtype, each filled with its own byte (0x10 + index).
        var entries = new List<string>(ValidLayerEntries());
        var data = new List<byte>(ValidLayerData());
        for (int i = 0; i < s_dtypes.Length; i++)
        {
            (string name, _, _, string shape, int bytes) = s_dtypes[i];
            entries.Add(Entry("x." + name, name, shape, data.Count, data.Count + bytes));
            data.AddRange(Enumerable.Repeat((byte)(0x10 + i), bytes));
        }

        Assert.Equal(56 + 79, data.Count);   // 79: the byte column of the table above, summed by hand
        var reader = new SafeTensorsReader(BuildFile(Header([.. entries]), [.. data]));

        Assert.Equal(5 + 22, reader.Tensors.Count);
        for (int i = 0; i < s_dtypes.Length; i++)
        {
            (string name, SafeTensorsDType dtype, _, _, int bytes) = s_dtypes[i];
            Assert.True(reader.TryGetTensor("x." + name, out SafeTensorInfo? info), name);
            Assert.Equal(dtype, info.DType);
            Assert.Equal(bytes, info.DataEnd - info.DataStart);
            Assert.Equal(Enumerable.Repeat((byte)(0x10 + i), bytes), reader.GetData("x." + name).ToArray());
        }

        var layer = new BatchNorm1d<float>(ValidLayerChannels);
        reader.LoadLayer(layer, "bn.");
        Assert.Equal([1f, 2f, 3f], layer.Weight.ToArray());
        Assert.Equal([4f, 5f, 6f], layer.Bias.ToArray());
        Assert.Equal([7f, 8f, 9f], layer.RunningMean.ToArray());
        Assert.Equal([1f, 1f, 1f], layer.RunningVariance.ToArray());
        Assert.Equal(5, layer.NumBatchesTracked);
    }

    [Theory]
    [InlineData("F4", "[2, 3]", 3, 6)]
    [InlineData("F4", "[0]", 0, 0)]
    [InlineData("F4", "[4, 0, 3]", 0, 0)]
    [InlineData("F6_E2M3", "[8]", 6, 8)]
    [InlineData("F6_E3M2", "[4, 1]", 3, 4)]
    public void Read_SubByteDType_WholeBytes_Opens(string dtype, string shape, int bytes, long elements)
    {
        byte[] payload = [.. Enumerable.Range(1, bytes).Select(b => (byte)b)];
        var reader = new SafeTensorsReader(BuildFile(Header(Entry("q", dtype, shape, 0, bytes)), payload));

        SafeTensorInfo info = Assert.Single(reader.Tensors);
        Assert.Equal(elements, info.ElementCount);
        Assert.Equal(payload, reader.GetData("q").ToArray());
    }

    [Theory]
    [InlineData("F4", "[3]", 1, "3 × 4 bits = 12 bits")]
    [InlineData("F4", "[3]", 2, "3 × 4 bits = 12 bits")]
    [InlineData("F4", "[1, 1, 1]", 0, "1 × 4 bits = 4 bits")]
    [InlineData("F6_E2M3", "[1]", 1, "1 × 6 bits = 6 bits")]
    [InlineData("F6_E3M2", "[2, 5]", 8, "10 × 6 bits = 60 bits")]
    public void Read_SubByteDType_BitsNotWholeBytes_IsAFormatError(string dtype, string shape, int end, string fragment)
    {
        byte[] file = BuildFile(Header(Entry("q", dtype, shape, 0, end)), new byte[end]);

        InvalidDataException error = Assert.Throws<InvalidDataException>(() => new SafeTensorsReader(file));

        Assert.Contains("'q'", error.Message, StringComparison.Ordinal);
        Assert.Contains($"dtype {dtype}", error.Message, StringComparison.Ordinal);
        Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
        Assert.Contains("not a whole number of bytes", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("F4", "[4]", 4, "need 2")]
    [InlineData("F6_E3M2", "[4]", 4, "need 3")]
    [InlineData("C64", "[2]", 8, "need 16")]
    public void Read_WrongByteCount_IsAFormatError(string dtype, string shape, int end, string fragment)
    {
        byte[] file = BuildFile(Header(Entry("q", dtype, shape, 0, end)), new byte[end]);

        InvalidDataException error = Assert.Throws<InvalidDataException>(() => new SafeTensorsReader(file));

        Assert.Contains("'q'", error.Message, StringComparison.Ordinal);
        Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("F8_E4M3FN")]
    [InlineData("f32")]
    [InlineData("C128")]
    [InlineData("F6")]
    [InlineData("FP4")]
    [InlineData("")]
    public void Read_DTypeOutsideTheFormat_IsAFormatError(string dtype)
    {
        byte[] file = BuildFile(Header(Entry("q", dtype, "[0]", 0, 0)), []);

        InvalidDataException error = Assert.Throws<InvalidDataException>(() => new SafeTensorsReader(file));

        Assert.Contains($"'q' has dtype '{dtype}', which is not a safetensors dtype", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadTensor_DTypeItCannotBecome_ThrowsNamingTensorAndDType()
    {
        string header = Header(
            Entry("c", "C64", "[1]", 0, 8),
            Entry("u", "U64", "[1]", 8, 16),
            Entry("f4", "F4", "[2]", 16, 17),
            Entry("fnuz", "F8_E4M3FNUZ", "[1]", 17, 18),
            Entry("b", "BOOL", "[1]", 18, 19));
        var reader = new SafeTensorsReader(BuildFile(header, new byte[19]));

        AssertRefused(() => reader.ReadTensor<float>("f4"), "'f4'", "dtype F4");
        AssertRefused(() => reader.ReadTensor<double>("c"), "'c'", "dtype C64");
        AssertRefused(() => reader.ReadTensor<float>("fnuz"), "'fnuz'", "dtype F8_E4M3FNUZ");
        AssertRefused(() => reader.ReadTensor<long>("u"), "'u'", "dtype U64");
        AssertRefused(() => reader.ReadTensor<double>("b"), "'b'", "dtype BOOL");
    }

    private static void AssertRefused(Func<object> read, string tensor, string dtype)
    {
        InvalidDataException error = Assert.Throws<InvalidDataException>(read);
        Assert.Contains(tensor, error.Message, StringComparison.Ordinal);
        Assert.Contains(dtype, error.Message, StringComparison.Ordinal);
    }
}
