using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;

namespace BatchNorm.Tests.Serialization;

/// <summary>Hand-built safetensors files, layer state filling and bit-exact snapshots for the serialization tests.</summary>
internal static class SafeTensorsTestKit
{
    /// <summary>The channel count of <see cref="ValidLayerEntries"/>.</summary>
    public const int ValidLayerChannels = 3;

    /// <summary>The header entries of a valid one-layer file under prefix <c>bn.</c>: four F32 [3] tensors and the I64 counter.</summary>
    public static string[] ValidLayerEntries() =>
    [
        Entry("bn.weight", "F32", "[3]", 0, 12),
        Entry("bn.bias", "F32", "[3]", 12, 24),
        Entry("bn.running_mean", "F32", "[3]", 24, 36),
        Entry("bn.running_var", "F32", "[3]", 36, 48),
        Entry("bn.num_batches_tracked", "I64", "[]", 48, 56),
    ];

    /// <summary>The data of <see cref="ValidLayerEntries"/>: weight 1..3, bias 4..6, running mean 7..9, running variance 1, counter 5.</summary>
    public static byte[] ValidLayerData() => Concat(F32(1, 2, 3), F32(4, 5, 6), F32(7, 8, 9), F32(1, 1, 1), I64(5));

    /// <summary>A file laid out by hand: the 8-byte little-endian header length, the header text as UTF-8, the data.</summary>
    public static byte[] BuildFile(string header, ReadOnlySpan<byte> data, ulong? headerLength = null) =>
        BuildFile(Encoding.UTF8.GetBytes(header), data, headerLength);

    /// <summary>A file from raw header bytes (which need not be valid UTF-8 or JSON).</summary>
    public static byte[] BuildFile(byte[] header, ReadOnlySpan<byte> data, ulong? headerLength = null)
    {
        var file = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, headerLength ?? (ulong)header.Length);
        header.CopyTo(file, 8);
        data.CopyTo(file.AsSpan(8 + header.Length));
        return file;
    }

    /// <summary>One header entry, as text: <c>"name":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}</c>.</summary>
    public static string Entry(string name, string dtype, string shape, long begin, long end) =>
        $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":[{begin},{end}]}}";

    /// <summary>A header object from entries.</summary>
    public static string Header(params string[] entries) => "{" + string.Join(",", entries) + "}";

    /// <summary>Little-endian bytes of float values.</summary>
    public static byte[] F32(params float[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        }

        return bytes;
    }

    /// <summary>Little-endian bytes of double values.</summary>
    public static byte[] F64(params double[] values)
    {
        var bytes = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * 8), values[i]);
        }

        return bytes;
    }

    /// <summary>Little-endian bytes of long values.</summary>
    public static byte[] I64(params long[] values)
    {
        var bytes = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * 8), values[i]);
        }

        return bytes;
    }

    /// <summary>Concatenated byte arrays.</summary>
    public static byte[] Concat(params byte[][] parts)
    {
        var all = new List<byte>();
        foreach (byte[] part in parts)
        {
            all.AddRange(part);
        }

        return [.. all];
    }

    /// <summary>Fills every piece of state a checkpoint holds with seeded values (running variance positive).</summary>
    public static void Fill<T>(BatchNormBase<T> layer, int seed)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int c = layer.NumFeatures;
        if (layer.Affine)
        {
            TestData.Gaussian<T>(seed, c, 1, 0.5).CopyTo(layer.Weight);
            TestData.Gaussian<T>(seed + 1, c, 0, 0.5).CopyTo(layer.Bias);
        }

        if (layer.TrackRunningStatistics)
        {
            TestData.Gaussian<T>(seed + 2, c, 3, 2).CopyTo(layer.RunningMean);
            T[] variance = TestData.Gaussian<T>(seed + 3, c, 0, 1);
            for (int i = 0; i < c; i++)
            {
                variance[i] = T.Abs(variance[i]) + T.CreateTruncating(0.1);
            }

            variance.CopyTo(layer.RunningVariance);
            layer.NumBatchesTracked = 1000 + seed;
        }
    }

    /// <summary>The bytes of everything a checkpoint touches, plus the gradients, for bit-exact comparison.</summary>
    public static byte[] Snapshot<T>(BatchNormBase<T> layer)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var all = new List<byte>();
        all.AddRange(MemoryMarshal.AsBytes(layer.Weight).ToArray());
        all.AddRange(MemoryMarshal.AsBytes(layer.Bias).ToArray());
        all.AddRange(MemoryMarshal.AsBytes(layer.RunningMean).ToArray());
        all.AddRange(MemoryMarshal.AsBytes(layer.RunningVariance).ToArray());
        all.AddRange(MemoryMarshal.AsBytes(layer.WeightGradient).ToArray());
        all.AddRange(MemoryMarshal.AsBytes(layer.BiasGradient).ToArray());
        all.AddRange(BitConverter.GetBytes(layer.NumBatchesTracked));
        return [.. all];
    }
}
