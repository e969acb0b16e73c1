using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using BatchNorm.Serialization;
using Xunit;
using static BatchNorm.Tests.Serialization.SafeTensorsTestKit;

namespace BatchNorm.Tests.Serialization;

/// <summary>The bytes on disk, laid out by hand as the format specifies, in both directions.</summary>
public class SafeTensorsFormatTests
{
    [Fact]
    public void Load_HandBuiltFile_WithEveryFloatDTypeAndMetadata()
    {
        // Header entries in no particular order; the data section laid out by hand: I64 scalar at [0, 8), F64 [2] at
        // [8, 24), F32 [2] at [24, 32), F16 [2] at [32, 36), BF16 [2] at [36, 40). Offsets are relative to the data.
        string header =
            "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"hand-built\"}," +
            "\"bn1.running_mean\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]}," +
            "\"bn1.weight\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[32,36]}," +
            "\"bn1.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]}," +
            "\"bn1.bias\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[36,40]}," +
            "\"bn1.running_var\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[8,24]}}";
        byte[] data =
        [
            42, 0, 0, 0, 0, 0, 0, 0,                        // num_batches_tracked: I64 42
            0, 0, 0, 0, 0, 0, 0xF0, 0x3F,                   // running_var[0]: F64 1.0
            0, 0, 0, 0, 0, 0, 0x10, 0x40,                   // running_var[1]: F64 4.0
            0, 0, 0xC0, 0x3F,                               // running_mean[0]: F32 1.5
            0, 0, 0x20, 0xC1,                               // running_mean[1]: F32 -10.0
            0x00, 0x3E,                                     // weight[0]: F16 1.5
            0x00, 0xC0,                                     // weight[1]: F16 -2.0
            0xC0, 0x3F,                                     // bias[0]: BF16 1.5
            0x80, 0xBE,                                     // bias[1]: BF16 -0.25
        ];
        byte[] headerBytes = Encoding.UTF8.GetBytes(header);
        int n = headerBytes.Length;
        Assert.InRange(n, 256, 65535);
        byte[] length = [(byte)n, (byte)(n >> 8), 0, 0, 0, 0, 0, 0];   // u64, little-endian
        byte[] file = [.. length, .. headerBytes, .. data];

        var single = new BatchNorm1d<float>(2);
        var dual = new BatchNorm1d<double>(2);
        var reader = new SafeTensorsReader(file);
        reader.LoadLayer(single, "bn1.");
        reader.LoadLayer(dual, "bn1.");

        Assert.Equal([1.5f, -2.0f], single.Weight.ToArray());
        Assert.Equal([1.5f, -0.25f], single.Bias.ToArray());
        Assert.Equal([1.5f, -10.0f], single.RunningMean.ToArray());
        Assert.Equal([1.0f, 4.0f], single.RunningVariance.ToArray());
        Assert.Equal(42, single.NumBatchesTracked);
        Assert.Equal([1.5, -2.0], dual.Weight.ToArray());
        Assert.Equal([1.5, -0.25], dual.Bias.ToArray());
        Assert.Equal([1.5, -10.0], dual.RunningMean.ToArray());
        Assert.Equal([1.0, 4.0], dual.RunningVariance.ToArray());
        Assert.Equal(42, dual.NumBatchesTracked);
        Assert.Equal(new Dictionary<string, string> { ["format"] = "pt", ["note"] = "hand-built" }, reader.Metadata);
        Assert.Equal(
            ["bn1.num_batches_tracked", "bn1.running_var", "bn1.running_mean", "bn1.weight", "bn1.bias"],
            reader.Tensors.Select(t => t.Name));
    }

    [Fact]
    public void Read_NullMetadata_IsNoMetadata()
    {
        // serde reads "__metadata__": null as Option::None, so the reference opens this file with no metadata.
        var reader = new SafeTensorsReader(BuildFile(Header(["\"__metadata__\":null", .. ValidLayerEntries()]), ValidLayerData()));
        var layer = new BatchNorm1d<float>(ValidLayerChannels);
        reader.LoadLayer(layer, "bn.");

        Assert.Empty(reader.Metadata);
        Assert.Equal(5, reader.Tensors.Count);
        Assert.Equal([7f, 8f, 9f], layer.RunningMean.ToArray());

        var alone = new SafeTensorsReader(BuildFile("{\"__metadata__\" : null}", []));
        Assert.Empty(alone.Metadata);
        Assert.Empty(alone.Tensors);
    }

    [Theory]
    [InlineData("3", "Number")]
    [InlineData("\"pt\"", "String")]
    [InlineData("[]", "Array")]
    [InlineData("false", "False")]
    public void Read_MetadataNeitherObjectNorNull_IsRefused(string metadata, string kind)
    {
        byte[] file = BuildFile(Header(["\"__metadata__\":" + metadata, .. ValidLayerEntries()]), ValidLayerData());

        InvalidDataException error = Assert.Throws<InvalidDataException>(() => new SafeTensorsReader(file));

        Assert.Contains($"'__metadata__' is a JSON {kind}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_SingleTensor_MatchesTheFormatByteForByte()
    {
        // A 64-byte header needs no padding.
        var writer = new SafeTensorsWriter();
        writer.Add<float>("attn.0", [0f, 1f, 2f, 3f, 4f, 5f], [1, 2, 3]);

        byte[] expected = BuildFile("{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}", F32(0f, 1f, 2f, 3f, 4f, 5f));

        Assert.Equal(64, expected.Length - 8 - 24);
        Assert.Equal(expected, writer.ToArray());
    }

    [Fact]
    public void Write_PadsTheHeaderWithSpacesToAMultipleOf8()
    {
        var writer = new SafeTensorsWriter();
        writer.Add<float>("attn0", [0f, 1f, 2f, 3f, 4f, 5f], [1, 1, 2, 3]);

        byte[] expected = BuildFile("{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       ", F32(0f, 1f, 2f, 3f, 4f, 5f));

        Assert.Equal(expected, writer.ToArray());
        Assert.Equal(72UL, BinaryPrimitives.ReadUInt64LittleEndian(expected));
    }

    [Fact]
    public void Write_Empty_IsAnEmptyObjectPadded()
    {
        Assert.Equal([8, 0, 0, 0, 0, 0, 0, 0, (byte)'{', (byte)'}', 32, 32, 32, 32, 32, 32], new SafeTensorsWriter().ToArray());

        var withMetadata = new SafeTensorsWriter();
        withMetadata.Metadata["framework"] = "pt";
        Assert.Equal(BuildFile("{\"__metadata__\":{\"framework\":\"pt\"}}     ", []), withMetadata.ToArray());
    }

    [Fact]
    public void Write_Layer_OrdersByAlignmentThenName()
    {
        var layer = new BatchNorm1d<float>(2);
        layer.Weight[0] = 0.5f;
        layer.NumBatchesTracked = 3;

        byte[] file = SafeTensors.Save(layer, "bn.");

        string header =
            Header(
                Entry("bn.num_batches_tracked", "I64", "[]", 0, 8),
                Entry("bn.bias", "F32", "[2]", 8, 16),
                Entry("bn.running_mean", "F32", "[2]", 16, 24),
                Entry("bn.running_var", "F32", "[2]", 24, 32),
                Entry("bn.weight", "F32", "[2]", 32, 40));
        header += new string(' ', (8 - (header.Length % 8)) % 8);
        byte[] data = Concat(I64(3), F32(0f, 0f), F32(0f, 0f), F32(1f, 1f), F32(0.5f, 1f));
        Assert.Equal(BuildFile(header, data), file);
    }

    [Fact]
    public void Write_DoubleLayer_UsesF64AndAlignsEveryTensor()
    {
        var writer = new SafeTensorsWriter();
        writer.AddLayer(new BatchNorm2d<double>(3), "a.");
        writer.Add<Half>("a.extra", [(Half)1, (Half)2, (Half)3], [3]);
        byte[] file = writer.ToArray();

        var reader = new SafeTensorsReader(file);
        long dataStart = 8 + (long)BinaryPrimitives.ReadUInt64LittleEndian(file);
        Assert.Equal(0, dataStart % 8);
        foreach (SafeTensorInfo info in reader.Tensors)
        {
            int size = info.DType switch { SafeTensorsDType.F16 => 2, SafeTensorsDType.F32 => 4, _ => 8 };
            Assert.Equal(0, (dataStart + info.DataStart) % size);
        }

        Assert.Equal(SafeTensorsDType.F64, reader.Tensors.Single(t => t.Name == "a.weight").DType);
        Assert.Equal([1f, 2f, 3f], reader.ReadTensor<float>("a.extra"));
    }

    [Fact]
    public void ReadTensor_ConvertsAndRejects()
    {
        string header = Header(Entry("n", "I64", "[2]", 0, 16), Entry("h", "F16", "[1]", 16, 18), Entry("b", "BF16", "[1]", 18, 20), Entry("u", "U8", "[1]", 20, 21));
        byte[] file = BuildFile(header, Concat(I64(-5, 7), [0x00, 0x3C], [0x80, 0x3F], [9]));
        var reader = new SafeTensorsReader(file);

        Assert.Equal([-5L, 7L], reader.ReadTensor<long>("n"));
        Assert.Equal([1.0], reader.ReadTensor<double>("h"));
        Assert.Equal([1.0f], reader.ReadTensor<float>("b"));
        Assert.Equal([(byte)9], reader.GetData("u").ToArray());
        Assert.True(reader.TryGetTensor("u", out SafeTensorInfo? info));
        Assert.Equal(SafeTensorsDType.U8, info.DType);
        Assert.False(reader.TryGetTensor("v", out _));
        Assert.Contains("'u'", Assert.Throws<InvalidDataException>(() => reader.ReadTensor<float>("u")).Message);
        Assert.Contains("'n'", Assert.Throws<InvalidDataException>(() => reader.ReadTensor<double>("n")).Message);
        Assert.Contains("'missing'", Assert.Throws<KeyNotFoundException>(() => reader.ReadTensor<float>("missing")).Message);
        Assert.Throws<NotSupportedException>(() => reader.ReadTensor<int>("n"));
    }

    [Fact]
    public void Writer_RejectsBadArgumentsWithoutAddingAnything()
    {
        var writer = new SafeTensorsWriter();
        writer.Add<float>("bn.weight", [1f], [1]);

        Assert.Throws<ArgumentException>(() => writer.Add<float>("bn.weight", [1f], [1]));
        Assert.Throws<ArgumentException>(() => writer.Add<float>("__metadata__", [1f], [1]));
        Assert.Throws<ArgumentException>(() => writer.Add<float>("x", [1f, 2f], [3]));
        Assert.Throws<ArgumentException>(() => writer.Add<float>("x", [], [-1]));
        Assert.Throws<NotSupportedException>(() => writer.Add<int>("x", [1], [1]));
        Assert.Throws<ArgumentNullException>(() => writer.Add<float>(null!, [1f], [1]));
        ArgumentException duplicate = Assert.Throws<ArgumentException>(() => writer.AddLayer(new BatchNorm1d<float>(1), "bn."));
        Assert.Contains("bn.weight", duplicate.Message);
        Assert.Equal(1, writer.Count);
    }
}
