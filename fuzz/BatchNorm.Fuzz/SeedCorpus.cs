using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Text;
using BatchNorm.Serialization;

namespace BatchNorm.Fuzz;

/// <summary>
/// The seed corpus in <c>fuzz/corpus/</c>: small valid files (layers under prefixes, metadata, every dtype family, a
/// scalar, an empty tensor) and small invalid ones (each a rule of the format broken once). <c>--write-seeds DIR</c>
/// writes them; the committed files are its output.
/// </summary>
internal static class SeedCorpus
{
    public static IEnumerable<(string Name, byte[] Bytes)> Files()
    {
        var layer = new BatchNorm1d<float>(3);
        layer.Weight[1] = 2.5f;
        layer.RunningMean[2] = -1;
        layer.NumBatchesTracked = 7;
        yield return ("valid-layer-float", SafeTensors.Save(layer));

        var wide = new BatchNorm2d<double>(2);
        wide.Bias[0] = 0.125;
        var writer = new SafeTensorsWriter();
        writer.Metadata["format"] = "pt";
        writer.AddLayer(wide, "layer1.0.bn1.");
        writer.AddLayer(new BatchNorm1d<float>(2, affine: false), "bn2.");
        yield return ("valid-two-layers-metadata", writer.ToArray());

        var mixed = new SafeTensorsWriter();
        mixed.Add<Half>("h.weight", [(Half)1, (Half)(-2), Half.NaN], [3]);
        mixed.Add<BFloat16>("h.bias", [(BFloat16)0.5f, (BFloat16)0, (BFloat16)1], [3]);
        mixed.Add<float>("h.running_mean", [0, 1, float.PositiveInfinity], [3]);
        mixed.Add<double>("h.running_var", [1, 2, 3], [3]);
        mixed.Add<long>("h.num_batches_tracked", [3], []);
        mixed.Add<float>("conv.weight", new float[6], [1, 2, 3]);
        mixed.Add<float>("empty", [], [0, 4]);
        yield return ("valid-mixed-dtypes", mixed.ToArray());

        yield return ("valid-raw-dtypes", Raw("""{"a":{"dtype":"F4","shape":[2],"data_offsets":[0,1]},"b":{"dtype":"BOOL","shape":[1],"data_offsets":[1,2]},"c":{"dtype":"C64","shape":[],"data_offsets":[2,10]},"__metadata__":null}""", 10));
        yield return ("valid-escaped-names", Raw("""{"\u0062n.\ud83d\ude00":{"dtype":"U8","shape":[1,1],"data_offsets":[0,1]},"__metadata__":{"k\n":"v\\"}}""", 1));

        byte[] valid = SafeTensors.Save(layer);
        yield return ("invalid-truncated", valid[..(valid.Length - 3)]);
        yield return ("invalid-short", valid[..5]);
        byte[] huge = (byte[])valid.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(huge, ulong.MaxValue - 6);
        yield return ("invalid-header-length", huge);
        yield return ("invalid-json", Raw("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]""", 4));
        yield return ("invalid-duplicate-key", Raw("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 4));
        yield return ("invalid-overlap", Raw("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}""", 6));
        yield return ("invalid-gap", Raw("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8));
        yield return ("invalid-size", Raw("""{"a":{"dtype":"F64","shape":[2,3],"data_offsets":[0,8]}}""", 8));
        yield return ("invalid-dtype", Raw("""{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}""", 16));
        yield return ("invalid-overflow", Raw("""{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}""", 0));
        yield return ("invalid-surrogate", Raw("""{"__metadata__":{"a":"\ud800"}}""", 0));
        yield return ("invalid-deep", Raw("{\"__metadata__\":" + new string('[', 70) + new string(']', 70) + "}", 0));
        yield return ("layer-invalid-count-dtype", Raw("""{"num_batches_tracked":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"weight":{"dtype":"I64","shape":[1],"data_offsets":[4,12]}}""", 12));
    }

    public static void Write(string directory)
    {
        Directory.CreateDirectory(directory);
        foreach ((string name, byte[] bytes) in Files())
        {
            File.WriteAllBytes(Path.Combine(directory, name + ".safetensors"), bytes);
        }
    }

    /// <summary>A file of <paramref name="header"/> (padded with spaces to 8 bytes) and <paramref name="dataBytes"/> data bytes counting up.</summary>
    private static byte[] Raw(string header, int dataBytes)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        int padded = (json.Length + 7) / 8 * 8;
        byte[] file = new byte[8 + padded + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)padded);
        json.CopyTo(file, 8);
        file.AsSpan(8 + json.Length, padded - json.Length).Fill((byte)' ');
        for (int i = 0; i < dataBytes; i++)
        {
            file[8 + padded + i] = (byte)(i + 1);
        }

        return file;
    }
}
