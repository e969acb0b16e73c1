using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;

namespace BatchNorm.Serialization;

/// <summary>
/// Collects named tensors (and batch-norm layers, under PyTorch's <c>state_dict</c> keys) and writes them as one
/// safetensors file.
/// </summary>
/// <remarks>
/// <para>
/// The file holds the bytes the reference writer (<c>safetensors.torch.save_file</c>, safetensors 0.8) produces for the
/// same tensors and at most one metadata entry: the 8-byte little-endian header length; the compact JSON header, with
/// <c>__metadata__</c> first (when there is any) and then one <c>{"dtype", "shape", "data_offsets"}</c> entry per
/// tensor, padded with spaces to a multiple of 8 bytes; then the data, little-endian, with no gaps. Tensors are ordered
/// by dtype, the format's last first (<c>U64</c>, <c>I64</c>, <c>F64</c>, …, <c>F32</c>, …, <c>F16</c>, …,
/// <c>BOOL</c>), then by the UTF-8 bytes of their names (code point order, which differs from
/// <see cref="string.CompareOrdinal(string, string)"/> for characters above U+FFFF). Every tensor therefore starts at a
/// multiple of its element size from the start of the file. In the JSON, only <c>"</c>, <c>\</c> and U+0000 to U+001F
/// are escaped (<c>\b \f \n \r \t</c>, the rest as <c>\u00xx</c> with lowercase hex digits), as serde_json escapes
/// them; every other character, DEL, U+2028 and characters above U+FFFF included, is written as raw UTF-8.
/// </para>
/// <para>
/// Several metadata entries are written sorted by the UTF-8 bytes of their keys. (The reference writes them in its hash
/// map's order, which changes from run to run, so no fixed order matches it; for one entry the bytes are the same.)
/// </para>
/// <para>
/// <see cref="Add{T}"/> and <see cref="AddLayer{T}"/> copy the data, so later changes to the source are not written.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// var writer = new SafeTensorsWriter();
/// writer.Metadata["format"] = "pt";
/// writer.AddLayer(bn1, prefix: "bn1.");
/// writer.AddLayer(bn2, prefix: "layer1.0.bn1.");
/// writer.Add&lt;float&gt;("fc.weight", fcWeight, [10, 512]);
/// using FileStream file = File.Create("model.safetensors");
/// writer.WriteTo(file);                        // PyTorch: safetensors.torch.load_file("model.safetensors")
/// </code>
/// </example>
public sealed class SafeTensorsWriter
{
    private readonly Dictionary<string, Entry> _tensors = new(StringComparer.Ordinal);

    /// <summary>The <c>__metadata__</c> entries to write (free-form strings, for example <c>"format": "pt"</c>); written sorted by the UTF-8 bytes of their keys.</summary>
    /// <remarks>
    /// Keys are compared ordinally; a null value, or a key or value holding a lone UTF-16 surrogate (which UTF-8 cannot
    /// hold), makes <see cref="WriteTo"/> throw. When empty, the header has no <c>__metadata__</c>, as with
    /// <c>save_file(…, metadata=None)</c>.
    /// </remarks>
    public IDictionary<string, string> Metadata { get; } = new SortedDictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The number of tensors added so far.</summary>
    /// <remarks>Each <see cref="Add{T}"/> adds one; each <see cref="AddLayer{T}"/> adds up to five (<c>weight</c>, <c>bias</c>, <c>running_mean</c>, <c>running_var</c>, <c>num_batches_tracked</c>).</remarks>
    public int Count => _tensors.Count;

    /// <summary>Adds a tensor.</summary>
    /// <typeparam name="T"><see cref="float"/> (written as <c>F32</c>), <see cref="double"/> (<c>F64</c>), <see cref="Half"/> (<c>F16</c>), <see cref="BFloat16"/> (<c>BF16</c>) or <see cref="long"/> (<c>I64</c>).</typeparam>
    /// <param name="name">The tensor's key in the file.</param>
    /// <param name="data">The elements, row-major; copied.</param>
    /// <param name="shape">The dimensions, outermost first; empty for a scalar (then <paramref name="data"/> has one element).</param>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is <c>__metadata__</c>, was added before or holds a lone UTF-16 surrogate; a dimension is negative; or the length of <paramref name="data"/> is not the product of <paramref name="shape"/>.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is none of the supported types.</exception>
    /// <remarks>
    /// No conversion: the elements' bytes are stored as they are, little-endian (swapped on a big-endian machine), so NaN
    /// payloads and signed zeros are kept bit for bit. Nothing is added when it throws.
    /// </remarks>
    public void Add<T>(string name, ReadOnlySpan<T> data, ReadOnlySpan<long> shape)
        where T : unmanaged
    {
        SafeTensorsDType dtype = DTypeOf<T>();
        byte[] utf8Name = ValidateName(name);
        long elements = 1;
        foreach (long dimension in shape)
        {
            if (dimension < 0)
            {
                ThrowHelper.ThrowArgument(nameof(shape), $"Expected non-negative dimensions, but got {SafeTensorsReader.FormatShape(shape.ToArray())}.");
            }

            elements = dimension == 0 || elements <= long.MaxValue / dimension ? elements * dimension : long.MaxValue;
        }

        if (elements != data.Length)
        {
            ThrowHelper.ThrowArgument(
                nameof(data),
                $"Expected {elements} elements for shape {SafeTensorsReader.FormatShape(shape.ToArray())}, but got {data.Length}.");
        }

        byte[] bytes = MemoryMarshal.AsBytes(data).ToArray();
        if (!BitConverter.IsLittleEndian)
        {
            int size = dtype.BitSize() / 8;
            for (int i = 0; i < bytes.Length; i += size)
            {
                bytes.AsSpan(i, size).Reverse();
            }
        }

        _tensors.Add(name, new Entry(utf8Name, dtype, shape.ToArray(), bytes));
    }

    /// <summary>
    /// Adds a batch-norm layer's state under PyTorch's <c>state_dict</c> keys, each prefixed with
    /// <paramref name="prefix"/>: <c>weight</c> and <c>bias</c> (when <see cref="BatchNormBase{T}.Affine"/>),
    /// <c>running_mean</c>, <c>running_var</c> and <c>num_batches_tracked</c> (when
    /// <see cref="BatchNormBase{T}.TrackRunningStatistics"/>), exactly the keys PyTorch would write.
    /// </summary>
    /// <typeparam name="T">The layer's element type; written as <c>F32</c> for <see cref="float"/> and <c>F64</c> for <see cref="double"/>.</typeparam>
    /// <param name="layer">The layer; its values are copied.</param>
    /// <param name="prefix">Prepended verbatim to each key, trailing dot included, for example <c>layer1.0.bn1.</c>; empty for none.</param>
    /// <exception cref="ArgumentNullException"><paramref name="layer"/> or <paramref name="prefix"/> is null.</exception>
    /// <exception cref="ArgumentException">One of the layer's keys was added before, or <paramref name="prefix"/> holds a lone UTF-16 surrogate; then nothing is added.</exception>
    /// <remarks>
    /// The parameters and statistics have shape <c>[NumFeatures]</c>; <c>num_batches_tracked</c> is an <c>I64</c>
    /// scalar (shape <c>[]</c>). Gradients, mode and hyperparameters are not part of PyTorch's state and are not written.
    /// </remarks>
    public void AddLayer<T>(BatchNormBase<T> layer, string prefix = "")
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(prefix);
        if (layer.NumFeatures == 0)
        {
            ThrowHelper.ThrowInvalidOperation("The lazy layer has no channel count yet (NumFeatures is 0), so it has no state to save: run a forward first.");
        }

        string[] keys = [.. layer.HasWeight ? [BatchNormStateKeys.Weight] : Array.Empty<string>(), .. layer.HasBias ? [BatchNormStateKeys.Bias] : Array.Empty<string>()];
        if (layer.TrackRunningStatistics)
        {
            keys = [.. keys, BatchNormStateKeys.RunningMean, BatchNormStateKeys.RunningVariance, BatchNormStateKeys.NumBatchesTracked];
        }

        foreach (string key in keys)
        {
            ValidateName(prefix + key);
        }

        long[] channels = [layer.NumFeatures];
        if (layer.HasWeight)
        {
            Add<T>(prefix + BatchNormStateKeys.Weight, layer.Weight, channels);
        }

        if (layer.HasBias)
        {
            Add<T>(prefix + BatchNormStateKeys.Bias, layer.Bias, channels);
        }

        if (layer.TrackRunningStatistics)
        {
            Add<T>(prefix + BatchNormStateKeys.RunningMean, layer.RunningMean, channels);
            Add<T>(prefix + BatchNormStateKeys.RunningVariance, layer.RunningVariance, channels);
            Add<long>(prefix + BatchNormStateKeys.NumBatchesTracked, [layer.NumBatchesTracked], []);
        }
    }

    /// <summary>Writes the file to <paramref name="destination"/>, from its current position.</summary>
    /// <param name="destination">A writable stream; not flushed or closed.</param>
    /// <exception cref="ArgumentNullException"><paramref name="destination"/> is null.</exception>
    /// <exception cref="InvalidOperationException">A <see cref="Metadata"/> value is null, or a key or value holds a lone UTF-16 surrogate.</exception>
    /// <exception cref="IOException">Writing the stream failed.</exception>
    /// <remarks>
    /// Writes the layout the type's remarks describe, with the tensors and metadata current at the call; the writer is not
    /// changed, so it may be called again. The metadata is checked before anything is written to the stream.
    /// </remarks>
    public void WriteTo(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        List<Entry> ordered = Order();
        byte[] header = BuildHeader(EncodeMetadata(), ordered);
        Span<byte> length = stackalloc byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        destination.Write(length);
        destination.Write(header);
        foreach (Entry tensor in ordered)
        {
            destination.Write(tensor.Data);
        }
    }

    /// <summary>Writes the file to <paramref name="path"/>, crash-safely: the file afterwards holds either its old bytes or the whole new file, never a part.</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty, blank, ends in a directory separator or names a directory.</exception>
    /// <exception cref="InvalidOperationException">A <see cref="Metadata"/> value is null, or a key or value holds a lone UTF-16 surrogate.</exception>
    /// <exception cref="IOException">Writing, flushing or renaming failed (a missing folder, a full disk, …); the old file is unchanged.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder or the file may not be written.</exception>
    /// <remarks>
    /// The bytes of <see cref="WriteTo"/>, written to a new temporary file in the folder of <paramref name="path"/>,
    /// flushed to disk, then renamed over <paramref name="path"/> in one step, as
    /// <see cref="SafeTensors.SaveFile{T}(BatchNormBase{T}, string, string)"/> describes: a failure leaves the old file
    /// as it was and deletes the temporary file; a process that dies leaves the old file intact.
    /// </remarks>
    public void SaveFile(string path) => AtomicFile.Write(path, WriteTo, nameof(path));

    /// <summary>Returns the file as a new array.</summary>
    /// <returns>The bytes of the file.</returns>
    /// <exception cref="InvalidOperationException">A <see cref="Metadata"/> value is null, or a key or value holds a lone UTF-16 surrogate.</exception>
    /// <remarks>The same bytes <see cref="WriteTo"/> writes, through a <see cref="MemoryStream"/>.</remarks>
    public byte[] ToArray()
    {
        var stream = new MemoryStream();
        WriteTo(stream);
        return stream.ToArray();
    }

    private static SafeTensorsDType DTypeOf<T>()
        where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            return SafeTensorsDType.F32;
        }

        if (typeof(T) == typeof(double))
        {
            return SafeTensorsDType.F64;
        }

        if (typeof(T) == typeof(Half))
        {
            return SafeTensorsDType.F16;
        }

        if (typeof(T) == typeof(BFloat16))
        {
            return SafeTensorsDType.BF16;
        }

        if (typeof(T) == typeof(long))
        {
            return SafeTensorsDType.I64;
        }

        ThrowHelper.ThrowNotSupportedType(typeof(T), "float, double, Half, BFloat16 or long");
        return default;
    }

    /// <summary>Checks a new tensor name and returns its UTF-8 bytes.</summary>
    private byte[] ValidateName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name == "__metadata__")
        {
            ThrowHelper.ThrowArgument(nameof(name), "'__metadata__' is reserved for the file's metadata; it cannot name a tensor.");
        }

        if (_tensors.ContainsKey(name))
        {
            ThrowHelper.ThrowArgument(nameof(name), $"A tensor named '{name}' was added already.");
        }

        byte[]? utf8 = SafeTensorsJson.ToUtf8(name);
        if (utf8 is null)
        {
            ThrowHelper.ThrowArgument(nameof(name), $"The name '{name}' holds a lone UTF-16 surrogate, which a safetensors header (UTF-8) cannot hold.");
        }

        return utf8;
    }

    /// <summary>By dtype, the format's last first, then by the UTF-8 bytes of the name, as the reference writer orders them.</summary>
    private List<Entry> Order()
    {
        var ordered = new List<Entry>(_tensors.Values);
        ordered.Sort(static (left, right) =>
        {
            int order = SafeTensorsDTypes.FormatRank(right.DType).CompareTo(SafeTensorsDTypes.FormatRank(left.DType));
            return order != 0 ? order : left.Utf8Name.AsSpan().SequenceCompareTo(right.Utf8Name);
        });
        return ordered;
    }

    /// <summary>The metadata as UTF-8 key and value pairs, sorted by key bytes; checked before anything is written.</summary>
    private List<(byte[] Key, byte[] Value)> EncodeMetadata()
    {
        var entries = new List<(byte[] Key, byte[] Value)>(Metadata.Count);
        foreach (KeyValuePair<string, string> item in Metadata)
        {
            if (item.Value is null)
            {
                ThrowHelper.ThrowInvalidOperation($"Metadata entry '{item.Key}' is null; safetensors metadata values are strings.");
            }

            byte[]? key = SafeTensorsJson.ToUtf8(item.Key);
            byte[]? value = SafeTensorsJson.ToUtf8(item.Value);
            if (key is null || value is null)
            {
                ThrowHelper.ThrowInvalidOperation($"Metadata entry '{item.Key}' holds a lone UTF-16 surrogate, which a safetensors header (UTF-8) cannot hold.");
            }

            entries.Add((key, value));
        }

        entries.Sort(static (left, right) => left.Key.AsSpan().SequenceCompareTo(right.Key));
        return entries;
    }

    /// <summary>The compact JSON header, padded with spaces to a multiple of 8 bytes.</summary>
    private static byte[] BuildHeader(List<(byte[] Key, byte[] Value)> metadata, List<Entry> ordered)
    {
        var json = new ArrayBufferWriter<byte>();
        json.Write("{"u8);
        if (metadata.Count > 0)
        {
            WriteMetadata(json, metadata);
        }

        long offset = 0;
        bool first = metadata.Count == 0;
        foreach (Entry tensor in ordered)
        {
            json.Write(first ? ""u8 : ","u8);
            WriteEntry(json, tensor, offset);
            offset += tensor.Data.Length;
            first = false;
        }

        json.Write("}"u8);
        int padded = (json.WrittenCount + 7) / 8 * 8;
        byte[] header = new byte[padded];
        json.WrittenSpan.CopyTo(header);
        header.AsSpan(json.WrittenCount).Fill((byte)' ');
        return header;
    }

    /// <summary>Writes <c>"__metadata__":{"key":"value",…}</c>.</summary>
    private static void WriteMetadata(ArrayBufferWriter<byte> json, List<(byte[] Key, byte[] Value)> metadata)
    {
        json.Write("\"__metadata__\":{"u8);
        for (int i = 0; i < metadata.Count; i++)
        {
            json.Write(i == 0 ? ""u8 : ","u8);
            SafeTensorsJson.WriteString(json, metadata[i].Key);
            json.Write(":"u8);
            SafeTensorsJson.WriteString(json, metadata[i].Value);
        }

        json.Write("}"u8);
    }

    /// <summary>Writes <c>"name":{"dtype":"F32","shape":[2],"data_offsets":[begin,end]}</c>.</summary>
    private static void WriteEntry(ArrayBufferWriter<byte> json, Entry tensor, long offset)
    {
        SafeTensorsJson.WriteString(json, tensor.Utf8Name);
        json.Write(":{\"dtype\":"u8);
        SafeTensorsJson.WriteString(json, Encoding.ASCII.GetBytes(SafeTensorsDTypes.ToName(tensor.DType)));
        json.Write(",\"shape\":["u8);
        for (int i = 0; i < tensor.Shape.Length; i++)
        {
            json.Write(i == 0 ? ""u8 : ","u8);
            SafeTensorsJson.WriteInteger(json, tensor.Shape[i]);
        }

        json.Write("],\"data_offsets\":["u8);
        SafeTensorsJson.WriteInteger(json, offset);
        json.Write(","u8);
        SafeTensorsJson.WriteInteger(json, offset + tensor.Data.Length);
        json.Write("]}"u8);
    }

    private sealed record Entry(byte[] Utf8Name, SafeTensorsDType DType, long[] Shape, byte[] Data);
}
