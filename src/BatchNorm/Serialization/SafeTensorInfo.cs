using System;
using System.Collections.Generic;

namespace BatchNorm.Serialization;

/// <summary>One tensor's entry in a safetensors header: its name, element type, shape and place in the data section.</summary>
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
    public string Name { get; }

    /// <summary>The element type.</summary>
    public SafeTensorsDType DType { get; }

    /// <summary>The dimensions, outermost first (row-major); empty for a scalar.</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>The first byte of the tensor's data, relative to the start of the data section (<c>data_offsets[0]</c>).</summary>
    public long DataStart { get; }

    /// <summary>One past the last byte of the tensor's data, relative to the start of the data section (<c>data_offsets[1]</c>).</summary>
    public long DataEnd { get; }

    /// <summary>The number of elements: the product of <see cref="Shape"/> (1 for a scalar).</summary>
    public long ElementCount { get; }
}
