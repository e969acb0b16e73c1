using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Diagnostics.CodeAnalysis;
using System.IO;
using System.Linq;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Unicode;

namespace BatchNorm.Serialization;

/// <summary>
/// A parsed, validated safetensors file: its tensors, its <c>__metadata__</c>, and the batch-norm layers stored in it
/// under PyTorch's <c>state_dict</c> keys.
/// </summary>
/// <remarks>
/// <para>
/// The format: 8 bytes holding the header length <c>N</c> (unsigned, little-endian); <c>N</c> bytes of UTF-8 JSON, an
/// object that maps each tensor's name to <c>{"dtype", "shape", "data_offsets": [begin, end]}</c> and may hold a
/// <c>"__metadata__"</c> object of strings (or <c>null</c>, read as no metadata, as the reference reads it); then the
/// data section, each tensor's elements row-major and little-endian at <c>[begin, end)</c> relative to the start of
/// the section.
/// </para>
/// <para>
/// The constructor checks the whole file as the reference implementation does, so every later read is in bounds: the
/// header starts with <c>{</c> and is at most 100,000,000 bytes of valid JSON (no property twice in any object, no lone
/// UTF-16 surrogate escape in any string, at most 64 levels deep); every dtype is one
/// of the format's 22 (<see cref="SafeTensorsDType"/>); every byte range holds exactly
/// <c>product(shape) * bits(dtype) / 8</c> bytes, a whole number (<see cref="SafeTensorsDTypes.BitSize"/>); and the ranges tile the data
/// section exactly, with no overlap, gap or trailing byte. An instance is immutable and safe for concurrent reads.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// using FileStream file = File.OpenRead("resnet18.safetensors");
/// SafeTensorsReader reader = SafeTensorsReader.Read(file);
/// foreach (SafeTensorInfo tensor in reader.Tensors)
/// {
///     Console.WriteLine($"{tensor.Name}: {tensor.DType} [{string.Join(", ", tensor.Shape)}]");
/// }
///
/// reader.LoadLayer(bn1, prefix: "bn1.");
/// float[] convWeight = reader.ReadTensor&lt;float&gt;("conv1.weight");
/// </code>
/// </example>
public sealed partial class SafeTensorsReader
{
    /// <summary>The largest header the reference implementation accepts.</summary>
    internal const long MaxHeaderLength = 100_000_000;

    private const string MetadataKey = "__metadata__";

    private static readonly JsonDocumentOptions s_jsonOptions = new()
    {
        AllowDuplicateProperties = false,
        AllowTrailingCommas = false,
        CommentHandling = JsonCommentHandling.Disallow,
        MaxDepth = 64,
    };

    private readonly ReadOnlyMemory<byte> _data;
    private readonly Dictionary<string, SafeTensorInfo> _byName;
    private readonly SafeTensorInfo[] _tensors;
    private readonly Dictionary<string, string> _metadata;
    private readonly ReadOnlyCollection<SafeTensorInfo> _tensorsView;
    private readonly ReadOnlyDictionary<string, string> _metadataView;

    /// <summary>Parses and validates a whole safetensors file held in memory; the reader keeps (does not copy) it.</summary>
    /// <param name="file">The file's bytes; they must not change while the reader is in use.</param>
    /// <exception cref="InvalidDataException">The bytes are not a valid safetensors file; the message names the tensor and the problem.</exception>
    /// <remarks>
    /// Makes every check the type's remarks list, once, here. The reader and the views <see cref="GetData"/> returns
    /// refer to <paramref name="file"/>'s memory; nothing is copied.
    /// </remarks>
    public SafeTensorsReader(ReadOnlyMemory<byte> file)
    {
        ReadOnlySpan<byte> span = file.Span;
        if (span.Length < sizeof(ulong))
        {
            ThrowHelper.ThrowInvalidData(
                $"The file has {span.Length} bytes, fewer than the 8 that hold the header length: it is truncated or not a safetensors file.");
        }

        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(span);
        long available = span.Length - sizeof(ulong);
        if (headerLength > (ulong)available)
        {
            ThrowHelper.ThrowInvalidData(
                $"The header length is {headerLength} bytes, but only {available} bytes follow it: the file is truncated or not a safetensors file.");
        }

        if (headerLength > MaxHeaderLength)
        {
            ThrowHelper.ThrowInvalidData(
                $"The header length is {headerLength} bytes, more than the format's limit of {MaxHeaderLength}.");
        }

        ReadOnlyMemory<byte> header = file.Slice(sizeof(ulong), (int)headerLength);
        _data = file.Slice(sizeof(ulong) + (int)headerLength);
        _metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        _byName = new Dictionary<string, SafeTensorInfo>(StringComparer.Ordinal);
        ParseHeader(header);
        _tensors = [.. _byName.Values];
        Array.Sort(_tensors, CompareByOffsets);
        ValidateOffsets(_tensors, _data.Length);
        _tensorsView = Array.AsReadOnly(_tensors);
        _metadataView = _metadata.AsReadOnly();
    }

    /// <summary>The file's <c>__metadata__</c> entries (empty when it has none, or <c>null</c>).</summary>
    /// <remarks>Read-only; keys are compared ordinally. The reader has checked that every value is a string.</remarks>
    public IReadOnlyDictionary<string, string> Metadata => _metadataView;

    /// <summary>Every tensor in the file, in the order of their data.</summary>
    /// <remarks>Sorted by <see cref="SafeTensorInfo.DataStart"/>, which need not be the header's order; read-only.</remarks>
    public IReadOnlyList<SafeTensorInfo> Tensors => _tensorsView;

    /// <summary>Reads a whole safetensors file from the current position of <paramref name="source"/> to its end, and parses it.</summary>
    /// <param name="source">A readable stream; it is read to the end and not closed.</param>
    /// <returns>The parsed file.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> is null.</exception>
    /// <exception cref="InvalidDataException">The bytes are not a valid safetensors file; the message names the tensor and the problem.</exception>
    /// <exception cref="IOException">Reading the stream failed.</exception>
    /// <remarks>The file is held in memory, so it may be at most about 2 GB.</remarks>
    public static SafeTensorsReader Read(Stream source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var buffer = new MemoryStream();
        source.CopyTo(buffer);
        return new SafeTensorsReader(buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
    }

    /// <summary>Finds a tensor's header entry.</summary>
    /// <param name="name">The tensor's full name, for example <c>layer1.0.bn1.weight</c>.</param>
    /// <param name="info">The entry, when found.</param>
    /// <returns>Whether the file holds a tensor of that name.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    /// <remarks>Names are compared ordinally (case-sensitive), as the format requires.</remarks>
    public bool TryGetTensor(string name, [NotNullWhen(true)] out SafeTensorInfo? info)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _byName.TryGetValue(name, out info);
    }

    /// <summary>The raw little-endian bytes of a tensor, as stored.</summary>
    /// <param name="name">The tensor's full name.</param>
    /// <returns>A view of the file's bytes, <see cref="SafeTensorInfo.DataEnd"/> - <see cref="SafeTensorInfo.DataStart"/> long.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    /// <exception cref="KeyNotFoundException">The file holds no tensor of that name.</exception>
    /// <remarks>No conversion and no copy: a slice of the bytes the reader was made from, little-endian whatever the machine.</remarks>
    public ReadOnlyMemory<byte> GetData(string name) => Slice(GetInfo(name));

    /// <summary>Reads a tensor's elements, converting them to <typeparamref name="T"/>.</summary>
    /// <typeparam name="T"><see cref="float"/>, <see cref="double"/>, <see cref="Half"/> or <see cref="BFloat16"/> (from <c>F16</c>, <c>BF16</c>, <c>F32</c> or <c>F64</c>), or <see cref="long"/> (from <c>I64</c>).</typeparam>
    /// <param name="name">The tensor's full name.</param>
    /// <returns>A new array of <see cref="SafeTensorInfo.ElementCount"/> elements, row-major.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    /// <exception cref="KeyNotFoundException">The file holds no tensor of that name.</exception>
    /// <exception cref="InvalidDataException">The tensor's dtype cannot be converted to <typeparamref name="T"/> (<c>F4</c> or <c>C64</c> read as <see cref="float"/>, say); the message names the tensor and its dtype.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is not <see cref="float"/>, <see cref="double"/>, <see cref="Half"/>, <see cref="BFloat16"/> or <see cref="long"/>.</exception>
    /// <remarks>
    /// This method effectively computes, per element, <c>(T)value</c>: <c>F16</c> through <see cref="System.Half"/>,
    /// <c>BF16</c> as the <see cref="float"/> whose bits are <c>bits &lt;&lt; 16</c>, <c>I64</c> as a <see cref="long"/>.
    /// <c>F16</c> and <c>BF16</c> widen exactly; <c>F64</c> read as <see cref="float"/> rounds to nearest (beyond
    /// <see cref="float"/>'s range, to infinity); <c>F32</c> read as <see cref="float"/> and <c>F64</c> read as
    /// <see cref="double"/> are copied bit for bit; read as <see cref="Half"/> or <see cref="BFloat16"/>, each value is
    /// rounded once to nearest, ties to even (its own dtype: bit for bit). NaN and infinities stay NaN and infinities.
    /// </remarks>
    public T[] ReadTensor<T>(string name)
        where T : unmanaged
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double) && typeof(T) != typeof(Half) && typeof(T) != typeof(BFloat16) && typeof(T) != typeof(long))
        {
            ThrowHelper.ThrowNotSupportedType(typeof(T), "float, double, Half, BFloat16 or long");
        }

        SafeTensorInfo info = GetInfo(name);

        bool supported = typeof(T) == typeof(long) ? info.DType == SafeTensorsDType.I64 : IsFloatingPoint(info.DType);
        if (!supported)
        {
            ThrowHelper.ThrowInvalidTensor(
                info.Name,
                $"has dtype {SafeTensorsDTypes.ToName(info.DType)}, which cannot be read as {typeof(T).Name}; expected {(typeof(T) == typeof(long) ? "I64" : "F32, F64, F16 or BF16")}.");
        }

        var values = new T[info.ElementCount];
        SafeTensorsDecoding.Decode(info.DType, Slice(info).Span, values);
        return values;
    }

    /// <summary>
    /// Loads a batch-norm layer's state from the tensors named as in PyTorch's <c>state_dict</c> under
    /// <paramref name="prefix"/>: <c>weight</c> and <c>bias</c> (when <see cref="BatchNormBase{T}.Affine"/>),
    /// <c>running_mean</c>, <c>running_var</c> and, when the file holds it, <c>num_batches_tracked</c> (when
    /// <see cref="BatchNormBase{T}.TrackRunningStatistics"/>).
    /// </summary>
    /// <typeparam name="T">The layer's element type.</typeparam>
    /// <param name="layer">The layer to load into.</param>
    /// <param name="prefix">Prepended verbatim to each key, trailing dot included, for example <c>layer1.0.bn1.</c>; empty for none.</param>
    /// <exception cref="ArgumentNullException"><paramref name="layer"/> or <paramref name="prefix"/> is null.</exception>
    /// <exception cref="InvalidDataException">
    /// A key the layer needs (any but <c>num_batches_tracked</c>) is missing; a key the layer does not have
    /// (<c>weight</c> on a layer without affine parameters, <c>running_mean</c> on one that tracks no running
    /// statistics, …) is present; a parameter or statistic is not a floating-point tensor of shape
    /// <c>[NumFeatures]</c>; or <c>num_batches_tracked</c>, when present, is not a non-negative <c>I64</c> scalar
    /// (shape <c>[]</c>). The message names the key; the layer is unchanged.
    /// </exception>
    /// <remarks>
    /// <para>
    /// Like PyTorch's <c>load_state_dict</c>, this converts each tensor to the layer's element type (<c>F16</c>,
    /// <c>BF16</c>, <c>F32</c> and <c>F64</c> are accepted for either) and leaves gradients, mode and hyperparameters
    /// alone. Without <c>num_batches_tracked</c> the layer keeps its own <see cref="BatchNormBase{T}.NumBatchesTracked"/>,
    /// as PyTorch's <c>_NormBase._load_from_state_dict</c> does with a state dict that carries no version (every dict
    /// <c>safetensors.torch.load_file</c> returns). Other keys under the prefix are ignored. Everything is read and
    /// checked before anything is assigned.
    /// </para>
    /// <para>The README's checkpoint section lists where this is stricter than PyTorch, and where it is more lenient.</para>
    /// </remarks>
    public void LoadLayer<T>(BatchNormBase<T> layer, string prefix = "")
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(prefix);
        T[]? weight = null;
        T[]? bias = null;
        T[]? runningMean = null;
        T[]? runningVariance = null;
        long? numBatchesTracked = null;
        int channels = layer.NumFeatures > 0 ? layer.NumFeatures : ChannelsInFile(layer, prefix);
        weight = ReadParameter<T>(layer.HasWeight, prefix + BatchNormStateKeys.Weight, channels);
        bias = ReadParameter<T>(layer.HasBias, prefix + BatchNormStateKeys.Bias, channels);

        if (layer.TrackRunningStatistics)
        {
            runningMean = ReadChannels<T>(prefix + BatchNormStateKeys.RunningMean, channels);
            runningVariance = ReadChannels<T>(prefix + BatchNormStateKeys.RunningVariance, channels);
            numBatchesTracked = ReadCountIfPresent(prefix + BatchNormStateKeys.NumBatchesTracked);
        }
        else
        {
            const string Reason = "is present, but the layer keeps no running statistics (TrackRunningStatistics is false).";
            RejectPresent(prefix + BatchNormStateKeys.RunningMean, Reason);
            RejectPresent(prefix + BatchNormStateKeys.RunningVariance, Reason);
            RejectPresent(prefix + BatchNormStateKeys.NumBatchesTracked, Reason);
        }

        // Nothing below can fail.
        layer.EnsureFeatures(channels);
        weight?.CopyTo(layer.Weight);
        bias?.CopyTo(layer.Bias);
        runningMean?.CopyTo(layer.RunningMean);
        runningVariance?.CopyTo(layer.RunningVariance);
        if (numBatchesTracked is long count)
        {
            layer.NumBatchesTracked = count;
        }
    }

    private static bool IsFloatingPoint(SafeTensorsDType dtype) =>
        dtype is SafeTensorsDType.F16 or SafeTensorsDType.BF16 or SafeTensorsDType.F32 or SafeTensorsDType.F64;

    private SafeTensorInfo GetInfo(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!_byName.TryGetValue(name, out SafeTensorInfo? info))
        {
            ThrowHelper.ThrowTensorNotFound(name);
        }

        return info;
    }

    private ReadOnlyMemory<byte> Slice(SafeTensorInfo info) =>
        _data.Slice((int)info.DataStart, (int)(info.DataEnd - info.DataStart));

    private T[] ReadChannels<T>(string name, int channels)
        where T : unmanaged
    {
        if (!_byName.TryGetValue(name, out SafeTensorInfo? info))
        {
            ThrowHelper.ThrowInvalidTensor(name, $"is missing; the layer needs it, of shape [{channels}].");
        }

        if (!IsFloatingPoint(info.DType))
        {
            ThrowHelper.ThrowInvalidTensor(
                name, $"has dtype {SafeTensorsDTypes.ToName(info.DType)}; expected a floating-point dtype (F32, F64, F16 or BF16).");
        }

        if (info.Shape.Count != 1 || info.Shape[0] != channels)
        {
            ThrowHelper.ThrowInvalidTensor(
                name, $"has shape {FormatShape(info.Shape)}, but the layer needs [{channels}] (NumFeatures).");
        }

        var values = new T[channels];
        SafeTensorsDecoding.Decode(info.DType, Slice(info).Span, values);
        return values;
    }

    /// <summary>The counter, or null when the file has none (the layer then keeps its own, as in PyTorch).</summary>
    private long? ReadCountIfPresent(string name)
    {
        if (!_byName.TryGetValue(name, out SafeTensorInfo? info))
        {
            return null;
        }

        if (info.DType != SafeTensorsDType.I64)
        {
            ThrowHelper.ThrowInvalidTensor(
                name, $"has dtype {SafeTensorsDTypes.ToName(info.DType)}; expected I64.");
        }

        if (info.Shape.Count != 0)
        {
            ThrowHelper.ThrowInvalidTensor(name, $"has shape {FormatShape(info.Shape)}; expected a scalar, shape [].");
        }

        long count = BinaryPrimitives.ReadInt64LittleEndian(Slice(info).Span);
        if (count < 0)
        {
            ThrowHelper.ThrowInvalidTensor(name, $"is {count}; expected a count of zero or more.");
        }

        return count;
    }

    /// <summary>
    /// A lazy layer's channel count as the file gives it: the length of the first one-dimensional tensor among those the
    /// layer needs (weight, bias, running mean); 0 when there is none (the reads then say what is wrong).
    /// </summary>
    private int ChannelsInFile<T>(BatchNormBase<T> layer, string prefix)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        (bool Needed, string Key)[] candidates =
            [(layer.HasWeight, BatchNormStateKeys.Weight), (layer.HasBias, BatchNormStateKeys.Bias), (layer.TrackRunningStatistics, BatchNormStateKeys.RunningMean)];
        foreach ((bool needed, string key) in candidates)
        {
            if (needed && _byName.TryGetValue(prefix + key, out SafeTensorInfo? info) && info.Shape.Count == 1 && info.Shape[0] is > 0 and <= int.MaxValue)
            {
                return (int)info.Shape[0];
            }
        }

        return 0;
    }

    /// <summary>A learnable parameter's values when the layer has it; otherwise null, after refusing a tensor of that name.</summary>
    private T[]? ReadParameter<T>(bool present, string name, int channels)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (present)
        {
            return ReadChannels<T>(name, channels);
        }

        RejectPresent(name, "is present, but the layer has no such parameter (created with affine: false, or without it).");
        return null;
    }

    private void RejectPresent(string name, string reason)
    {
        if (_byName.ContainsKey(name))
        {
            ThrowHelper.ThrowInvalidTensor(name, reason);
        }
    }

    /// <summary>A shape as messages write it: <c>[2, 3]</c>; beyond 8 dimensions the first 8 and the count, so a hostile header cannot make a message as long as itself.</summary>
    internal static string FormatShape(IReadOnlyList<long> shape)
    {
        const int MaxShown = 8;
        return shape.Count <= MaxShown
            ? "[" + string.Join(", ", shape) + "]"
            : "[" + string.Join(", ", shape.Take(MaxShown)) + $", … ({shape.Count} dimensions)]";
    }
}
