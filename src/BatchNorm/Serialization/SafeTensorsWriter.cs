using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace BatchNorm.Serialization;

/// <summary>
/// Collects named tensors (and batch-norm layers, under PyTorch's <c>state_dict</c> keys) and writes them as one
/// safetensors file.
/// </summary>
/// <remarks>
/// <para>
/// The file is laid out as PyTorch's <c>safetensors</c> package writes it: the 8-byte little-endian header length;
/// the compact JSON header, with <c>__metadata__</c> first (when there is any) and then one
/// <c>{"dtype", "shape", "data_offsets"}</c> entry per tensor, padded with spaces to a multiple of 8 bytes; then the
/// data, little-endian, tensors ordered by decreasing dtype alignment (<c>I64</c> and <c>F64</c> before <c>F32</c>
/// before <c>F16</c>) and then by ordinal name, with no gaps. Every tensor therefore starts at a multiple of its
/// element size from the start of the file.
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

    /// <summary>The <c>__metadata__</c> entries to write (free-form strings, for example <c>"format": "pt"</c>); written sorted by key.</summary>
    /// <remarks>Keys are compared ordinally; a null value makes <see cref="WriteTo"/> throw. When empty, the header has no <c>__metadata__</c>.</remarks>
    public IDictionary<string, string> Metadata { get; } = new SortedDictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The number of tensors added so far.</summary>
    /// <remarks>Each <see cref="Add{T}"/> adds one; each <see cref="AddLayer{T}"/> adds up to five (<c>weight</c>, <c>bias</c>, <c>running_mean</c>, <c>running_var</c>, <c>num_batches_tracked</c>).</remarks>
    public int Count => _tensors.Count;

    /// <summary>Adds a tensor.</summary>
    /// <typeparam name="T"><see cref="float"/> (written as <c>F32</c>), <see cref="double"/> (<c>F64</c>), <see cref="Half"/> (<c>F16</c>) or <see cref="long"/> (<c>I64</c>).</typeparam>
    /// <param name="name">The tensor's key in the file.</param>
    /// <param name="data">The elements, row-major; copied.</param>
    /// <param name="shape">The dimensions, outermost first; empty for a scalar (then <paramref name="data"/> has one element).</param>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is <c>__metadata__</c> or was added before; a dimension is negative; or the length of <paramref name="data"/> is not the product of <paramref name="shape"/>.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is none of the supported types.</exception>
    /// <remarks>
    /// No conversion: the elements' bytes are stored as they are, little-endian (swapped on a big-endian machine), so NaN
    /// payloads and signed zeros are kept bit for bit. Nothing is added when it throws.
    /// </remarks>
    public void Add<T>(string name, ReadOnlySpan<T> data, ReadOnlySpan<long> shape)
        where T : unmanaged
    {
        SafeTensorsDType dtype = DTypeOf<T>();
        ValidateName(name);
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

        _tensors.Add(name, new Entry(dtype, shape.ToArray(), bytes));
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
    /// <exception cref="ArgumentException">One of the layer's keys was added before; then nothing is added.</exception>
    /// <remarks>
    /// The parameters and statistics have shape <c>[NumFeatures]</c>; <c>num_batches_tracked</c> is an <c>I64</c>
    /// scalar (shape <c>[]</c>). Gradients, mode and hyperparameters are not part of PyTorch's state and are not written.
    /// </remarks>
    public void AddLayer<T>(BatchNormBase<T> layer, string prefix = "")
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(prefix);
        string[] keys = layer.Affine
            ? [BatchNormStateKeys.Weight, BatchNormStateKeys.Bias]
            : [];
        if (layer.TrackRunningStatistics)
        {
            keys = [.. keys, BatchNormStateKeys.RunningMean, BatchNormStateKeys.RunningVariance, BatchNormStateKeys.NumBatchesTracked];
        }

        foreach (string key in keys)
        {
            ValidateName(prefix + key);
        }

        long[] channels = [layer.NumFeatures];
        if (layer.Affine)
        {
            Add<T>(prefix + BatchNormStateKeys.Weight, layer.Weight, channels);
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
    /// <exception cref="InvalidOperationException">A <see cref="Metadata"/> value is null.</exception>
    /// <exception cref="IOException">Writing the stream failed.</exception>
    /// <remarks>
    /// Writes the layout the type's remarks describe, with the tensors and metadata current at the call; the writer is not
    /// changed, so it may be called again. The metadata is checked before anything is written to the stream.
    /// </remarks>
    public void WriteTo(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        List<KeyValuePair<string, Entry>> ordered = Order();
        byte[] header = BuildHeader(ordered);
        Span<byte> length = stackalloc byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        destination.Write(length);
        destination.Write(header);
        foreach (KeyValuePair<string, Entry> tensor in ordered)
        {
            destination.Write(tensor.Value.Data);
        }
    }

    /// <summary>Returns the file as a new array.</summary>
    /// <returns>The bytes of the file.</returns>
    /// <exception cref="InvalidOperationException">A <see cref="Metadata"/> value is null.</exception>
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

        if (typeof(T) == typeof(long))
        {
            return SafeTensorsDType.I64;
        }

        ThrowHelper.ThrowNotSupportedType(typeof(T), "float, double, Half or long");
        return default;
    }

    private void ValidateName(string name)
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
    }

    /// <summary>Decreasing dtype alignment (the enum's order), then ordinal name, as the reference writer orders them.</summary>
    private List<KeyValuePair<string, Entry>> Order()
    {
        var ordered = new List<KeyValuePair<string, Entry>>(_tensors);
        ordered.Sort(static (left, right) =>
        {
            int order = right.Value.DType.CompareTo(left.Value.DType);
            return order != 0 ? order : string.CompareOrdinal(left.Key, right.Key);
        });
        return ordered;
    }

    private byte[] BuildHeader(List<KeyValuePair<string, Entry>> ordered)
    {
        var buffer = new ArrayBufferWriter<byte>();

        // Relaxed escaping writes names as they are (UTF-8), as the reference writer does; the header is never HTML.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (Metadata.Count > 0)
            {
                json.WriteStartObject("__metadata__");
                foreach (KeyValuePair<string, string> item in Metadata)
                {
                    if (item.Value is null)
                    {
                        ThrowHelper.ThrowInvalidOperation($"Metadata entry '{item.Key}' is null; safetensors metadata values are strings.");
                    }

                    json.WriteString(item.Key, item.Value);
                }

                json.WriteEndObject();
            }

            long offset = 0;
            foreach (KeyValuePair<string, Entry> tensor in ordered)
            {
                json.WriteStartObject(tensor.Key);
                json.WriteString("dtype", SafeTensorsDTypes.ToName(tensor.Value.DType));
                json.WriteStartArray("shape");
                foreach (long dimension in tensor.Value.Shape)
                {
                    json.WriteNumberValue(dimension);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += tensor.Value.Data.Length;
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        int padded = (buffer.WrittenCount + 7) / 8 * 8;
        byte[] header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return header;
    }

    private sealed record Entry(SafeTensorsDType DType, long[] Shape, byte[] Data);
}
