using System;
using System.Diagnostics.CodeAnalysis;
using System.IO;
using System.Numerics;

namespace BatchNorm.Serialization;

/// <summary>
/// Saves and loads one batch-norm layer as a safetensors file with PyTorch's <c>state_dict</c> keys. For several
/// layers in one file, use <see cref="SafeTensorsWriter.AddLayer{T}"/> and <see cref="SafeTensorsReader.LoadLayer{T}"/>.
/// </summary>
/// <remarks>
/// Shorthands for one <see cref="SafeTensorsWriter"/> or <see cref="SafeTensorsReader"/>. The files hold the keys,
/// dtypes and shapes of PyTorch's <c>safetensors.torch.save_file(bn.state_dict(), …)</c>, and <c>Load</c> reads that
/// function's files.
/// </remarks>
/// <example>
/// <code>
/// // In PyTorch: safetensors.torch.save_file(model.state_dict(), "resnet.safetensors")
/// using FileStream file = File.OpenRead("resnet.safetensors");
/// SafeTensors.Load(bn1, file, prefix: "layer1.0.bn1.");
/// </code>
/// </example>
public static class SafeTensors
{
    /// <summary>Writes <paramref name="layer"/>'s state to <paramref name="destination"/> as a safetensors file.</summary>
    /// <typeparam name="T">The layer's element type; written as <c>F32</c> or <c>F64</c>.</typeparam>
    /// <param name="layer">The layer.</param>
    /// <param name="destination">A writable stream; written from its current position, not flushed or closed.</param>
    /// <param name="prefix">Prepended verbatim to each key, trailing dot included; empty for none.</param>
    /// <exception cref="ArgumentNullException"><paramref name="layer"/>, <paramref name="destination"/> or <paramref name="prefix"/> is null.</exception>
    /// <exception cref="IOException">Writing the stream failed.</exception>
    /// <remarks>The file holds the keys <see cref="SafeTensorsWriter.AddLayer{T}"/> describes, and no metadata.</remarks>
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "Existing API, kept as it is for review: each overload takes the same optional prefix.")]
    public static void Save<T>(BatchNormBase<T> layer, Stream destination, string prefix = "")
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(destination);
        var writer = new SafeTensorsWriter();
        writer.AddLayer(layer, prefix);
        writer.WriteTo(destination);
    }

    /// <summary>Returns <paramref name="layer"/>'s state as the bytes of a safetensors file.</summary>
    /// <typeparam name="T">The layer's element type; written as <c>F32</c> or <c>F64</c>.</typeparam>
    /// <param name="layer">The layer.</param>
    /// <param name="prefix">Prepended verbatim to each key, trailing dot included; empty for none.</param>
    /// <returns>The file's bytes.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="layer"/> or <paramref name="prefix"/> is null.</exception>
    /// <remarks>The file holds the keys <see cref="SafeTensorsWriter.AddLayer{T}"/> describes, and no metadata.</remarks>
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "Existing API, kept as it is for review: each overload takes the same optional prefix.")]
    public static byte[] Save<T>(BatchNormBase<T> layer, string prefix = "")
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var writer = new SafeTensorsWriter();
        writer.AddLayer(layer, prefix);
        return writer.ToArray();
    }

    /// <summary>
    /// Saves <paramref name="layer"/>'s state to the file <paramref name="path"/>, crash-safely: the file afterwards holds
    /// either its old bytes or the whole new checkpoint, never a part.
    /// </summary>
    /// <typeparam name="T">The layer's element type; written as <c>F32</c> or <c>F64</c>.</typeparam>
    /// <param name="layer">The layer.</param>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="prefix">Prepended verbatim to each key, trailing dot included; empty for none.</param>
    /// <exception cref="ArgumentNullException"><paramref name="layer"/>, <paramref name="path"/> or <paramref name="prefix"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty, blank, ends in a directory separator or names a directory; or <paramref name="prefix"/> holds a lone UTF-16 surrogate.</exception>
    /// <exception cref="InvalidOperationException">The layer is lazy and has no channel count yet.</exception>
    /// <exception cref="IOException">Writing, flushing or renaming failed (a missing folder, a full disk, …); the old file is unchanged.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder or the file may not be written.</exception>
    /// <remarks>
    /// The bytes are those of <see cref="Save{T}(BatchNormBase{T}, Stream, string)"/>. They go to a new temporary file in
    /// the folder of <paramref name="path"/> (named <c>.NAME.RANDOM.tmp</c>), which is flushed to disk
    /// (<see cref="FileStream.Flush(bool)"/>) and then renamed over <paramref name="path"/> in one step
    /// (<see cref="File.Move(string, string, bool)"/>). If anything fails before the rename, the exception propagates,
    /// the old file is left as it was and the temporary file is deleted; if the process dies (killed, power lost), the
    /// old file is intact and the temporary file may remain. (The rename itself is atomic; that it survives a power
    /// loss is up to the file system, as the folder's entry is not flushed separately.)
    /// </remarks>
    public static void SaveFile<T>(BatchNormBase<T> layer, string path, string prefix = "")
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var writer = new SafeTensorsWriter();
        writer.AddLayer(layer, prefix);
        writer.SaveFile(path);
    }

    /// <summary>Reads a safetensors file from <paramref name="source"/> (to its end) and loads <paramref name="layer"/>'s state from it.</summary>
    /// <typeparam name="T">The layer's element type.</typeparam>
    /// <param name="layer">The layer to load into.</param>
    /// <param name="source">A readable stream; read to the end, not closed.</param>
    /// <param name="prefix">Prepended verbatim to each key, trailing dot included; empty for none.</param>
    /// <exception cref="ArgumentNullException"><paramref name="layer"/>, <paramref name="source"/> or <paramref name="prefix"/> is null.</exception>
    /// <exception cref="InvalidDataException">The file is not valid safetensors, or does not hold this layer's state under <paramref name="prefix"/> (see <see cref="SafeTensorsReader.LoadLayer{T}"/>); the message names the key and the problem, and the layer is unchanged.</exception>
    /// <exception cref="IOException">Reading the stream failed.</exception>
    /// <remarks>Equivalent to <c>SafeTensorsReader.Read(source).LoadLayer(layer, prefix)</c>.</remarks>
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "Existing API, kept as it is for review: each overload takes the same optional prefix.")]
    public static void Load<T>(BatchNormBase<T> layer, Stream source, string prefix = "")
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(prefix);
        SafeTensorsReader.Read(source).LoadLayer(layer, prefix);
    }

    /// <summary>Loads <paramref name="layer"/>'s state from the bytes of a safetensors file.</summary>
    /// <typeparam name="T">The layer's element type.</typeparam>
    /// <param name="layer">The layer to load into.</param>
    /// <param name="file">The whole file.</param>
    /// <param name="prefix">Prepended verbatim to each key, trailing dot included; empty for none.</param>
    /// <exception cref="ArgumentNullException"><paramref name="layer"/> or <paramref name="prefix"/> is null.</exception>
    /// <exception cref="InvalidDataException">The file is not valid safetensors, or does not hold this layer's state under <paramref name="prefix"/> (see <see cref="SafeTensorsReader.LoadLayer{T}"/>); the message names the key and the problem, and the layer is unchanged.</exception>
    /// <remarks>Equivalent to <c>new SafeTensorsReader(file.ToArray()).LoadLayer(layer, prefix)</c>.</remarks>
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "Existing API, kept as it is for review: each overload takes the same optional prefix.")]
    public static void Load<T>(BatchNormBase<T> layer, ReadOnlySpan<byte> file, string prefix = "")
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(prefix);
        new SafeTensorsReader(file.ToArray()).LoadLayer(layer, prefix);
    }
}
