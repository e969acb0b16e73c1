using System;
using System.Collections.Generic;

namespace BatchNorm.Serialization;

/// <summary>One tensor's entry in a safetensors header: its name, element type, shape and place in the data section.</summary>
/// <remarks>Made only by <see cref="SafeTensorsReader"/> (see <see cref="SafeTensorsReader.Tensors"/> and <see cref="SafeTensorsReader.TryGetTensor"/>), after it has validated the entry; immutable.</remarks>
public sealed class SafeTensorInfo
{
    internal SafeTensorInfo(string name, SafeTensorsDType dtype, long[] shape, long dataStart, long dataEnd, long elementCount)
    {
        Name = name;
        DType = dtype;
        Shape = Array.AsReadOnly(shape);
        DataStart = dataStart;
        DataEnd = dataEnd;
        ElementCount = elementCount;
    }

    /// <summary>The tensor's key in the header, for example <c>layer1.0.bn1.running_var</c>.</summary>
    /// <remarks>As in the header, JSON escapes decoded; names are compared ordinally (case-sensitive).</remarks>
    public string Name { get; }

    /// <summary>The element type.</summary>
    /// <remarks>Any of the format's 22 types; <see cref="SafeTensorsReader.ReadTensor{T}"/> converts only <see cref="SafeTensorsDType.F16"/>, <see cref="SafeTensorsDType.BF16"/>, <see cref="SafeTensorsDType.F32"/>, <see cref="SafeTensorsDType.F64"/> and <see cref="SafeTensorsDType.I64"/>; <see cref="SafeTensorsReader.GetData"/> returns the bytes of any.</remarks>
    public SafeTensorsDType DType { get; }

    /// <summary>The dimensions, outermost first (row-major); empty for a scalar.</summary>
    /// <remarks>A read-only view; PyTorch's <c>tensor.shape</c>.</remarks>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>The first byte of the tensor's data, relative to the start of the data section (<c>data_offsets[0]</c>).</summary>
    /// <remarks>The data section starts at byte <c>8 + N</c> of the file, after the header of <c>N</c> bytes.</remarks>
    public long DataStart { get; }

    /// <summary>One past the last byte of the tensor's data, relative to the start of the data section (<c>data_offsets[1]</c>).</summary>
    /// <remarks>The reader has checked that <c>DataEnd - DataStart = ElementCount * DType.BitSize() / 8</c>, a whole number of bytes (<see cref="SafeTensorsDTypes.BitSize"/>).</remarks>
    public long DataEnd { get; }

    /// <summary>The number of elements: the product of <see cref="Shape"/> (1 for a scalar).</summary>
    /// <remarks>This property is <c>product(Shape)</c>: 1 for a scalar, 0 when a dimension is 0.</remarks>
    public long ElementCount { get; }
}
