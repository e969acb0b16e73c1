using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Diagnostics.CodeAnalysis;
using System.IO;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Unicode;

namespace BatchNorm.Serialization;

/// <content>
/// Parsing and checking the header, as the reference implementation does: the JSON itself, each tensor's entry, the
/// metadata, and that the tensors' byte ranges tile the data section.
/// </content>
public sealed partial class SafeTensorsReader
{
    private void ParseHeader(ReadOnlyMemory<byte> header)
    {
        ReadOnlySpan<byte> span = header.Span;
        if (span.IsEmpty || span[0] != (byte)'{')
        {
            ThrowHelper.ThrowInvalidData(
                span.IsEmpty
                    ? "The header is empty; expected a JSON object starting with '{'."
                    : $"The header starts with byte 0x{span[0]:X2}; expected a JSON object starting with '{{'.");
        }

        if (!Utf8.IsValid(span))
        {
            ThrowHelper.ThrowInvalidData("The header is not valid UTF-8.");
        }

        using (JsonDocument document = ParseJson(header))
        {
            CheckText(document.RootElement);
            foreach (JsonProperty entry in document.RootElement.EnumerateObject())
            {
                if (entry.Name == MetadataKey)
                {
                    ParseMetadata(entry.Value);
                }
                else
                {
                    _byName.Add(entry.Name, ParseTensor(entry.Name, entry.Value));
                }
            }
        }
    }

    /// <summary>
    /// Parses the header as the reference does, refusing what it refuses: invalid JSON, a property twice in any object
    /// (two tensors of one name, a tensor's <c>dtype</c> twice, a metadata key twice: a file two parsers would read two
    /// ways), and nesting deeper than 64 levels.
    /// </summary>
    private static JsonDocument ParseJson(ReadOnlyMemory<byte> header)
    {
        try
        {
            return JsonDocument.Parse(header, s_jsonOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The header is not valid JSON: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            // Checking for duplicates decodes each property name, which refuses a lone surrogate escape.
            throw InvalidText("a property name", e);
        }
    }

    /// <summary>
    /// Decodes every property name and string of the header, those of fields the reader ignores included, so that a
    /// lone UTF-16 surrogate escape (<c>"\ud800"</c>, a low surrogate first, a high one followed by anything but a
    /// low one) refuses the file as the reference refuses it, instead of escaping later as another exception.
    /// </summary>
    private static void CheckText(JsonElement root)
    {
        foreach (JsonProperty entry in root.EnumerateObject())
        {
            string name = entry.Name;
            try
            {
                CheckStrings(entry.Value);
            }
            catch (InvalidOperationException e)
            {
                throw InvalidText($"the entry '{ThrowHelper.Abbreviate(name)}'", e);
            }
        }
    }

    private static void CheckStrings(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (JsonProperty property in element.EnumerateObject())
                {
                    _ = property.Name;
                    CheckStrings(property.Value);
                }

                break;
            case JsonValueKind.Array:
                foreach (JsonElement item in element.EnumerateArray())
                {
                    CheckStrings(item);
                }

                break;
            case JsonValueKind.String:
                _ = element.GetString();
                break;
        }
    }

    private static InvalidDataException InvalidText(string where, InvalidOperationException e) =>
        new($"The header holds a string in {where} that is not valid Unicode text (a lone UTF-16 surrogate escape such as \\ud800): {e.Message}", e);

    /// <summary>Reads the metadata object; <c>null</c>, as the reference reads it, is no metadata.</summary>
    private void ParseMetadata(JsonElement metadata)
    {
        if (metadata.ValueKind == JsonValueKind.Null)
        {
            return;
        }

        if (metadata.ValueKind != JsonValueKind.Object)
        {
            ThrowHelper.ThrowInvalidData($"'{MetadataKey}' is a JSON {metadata.ValueKind}; expected an object mapping strings to strings, or null.");
        }

        foreach (JsonProperty item in metadata.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
            {
                ThrowHelper.ThrowInvalidData(
                    $"'{MetadataKey}' entry '{ThrowHelper.Abbreviate(item.Name)}' is a JSON {item.Value.ValueKind}; expected a string.");
            }

            _metadata.Add(item.Name, item.Value.GetString()!);
        }
    }

    private static SafeTensorInfo ParseTensor(string name, JsonElement entry)
    {
        if (entry.ValueKind != JsonValueKind.Object)
        {
            ThrowHelper.ThrowInvalidTensor(name, $"is a JSON {entry.ValueKind} in the header; expected an object with dtype, shape and data_offsets.");
        }

        if (!entry.TryGetProperty("dtype", out JsonElement dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
        {
            ThrowHelper.ThrowInvalidTensor(name, "has no string 'dtype' in the header.");
        }

        string dtypeName = dtypeElement.GetString()!;
        if (!SafeTensorsDTypes.TryParse(dtypeName, out SafeTensorsDType dtype))
        {
            ThrowHelper.ThrowInvalidTensor(name, $"has dtype '{ThrowHelper.Abbreviate(dtypeName)}', which is not a safetensors dtype.");
        }

        long[] shape = ReadIntegers(name, entry, "shape", -1);
        long[] offsets = ReadIntegers(name, entry, "data_offsets", 2);
        (long elements, long bytes) = Measure(name, dtype, shape);
        if (offsets[1] < offsets[0])
        {
            ThrowHelper.ThrowInvalidTensor(name, $"has data_offsets [{offsets[0]}, {offsets[1]}], which end before they begin.");
        }

        if (offsets[1] - offsets[0] != bytes)
        {
            ThrowHelper.ThrowInvalidTensor(
                name,
                $"has data_offsets [{offsets[0]}, {offsets[1]}] holding {offsets[1] - offsets[0]} bytes, but dtype {dtypeName} and shape {FormatShape(shape)} need {bytes}.");
        }

        return new SafeTensorInfo(name, dtype, shape, offsets[0], offsets[1], elements);
    }

    /// <summary>
    /// The elements of <paramref name="shape"/> and the bytes they take, <c>elements * bits / 8</c>, as the reference
    /// computes them: refused when either product overflows or the bits are not a whole number of bytes (an odd number
    /// of <c>F4</c> elements, say).
    /// </summary>
    private static (long Elements, long Bytes) Measure(string name, SafeTensorsDType dtype, long[] shape)
    {
        long elements = 1;
        long bits = 0;
        bool fits = true;
        try
        {
            foreach (long dimension in shape)
            {
                elements = checked(elements * dimension);
            }

            bits = checked(elements * dtype.BitSize());
        }
        catch (OverflowException)
        {
            fits = false;
        }

        if (!fits)
        {
            ThrowHelper.ThrowInvalidTensor(name, $"has shape {FormatShape(shape)}, too large to address.");
        }

        if (bits % 8 != 0)
        {
            ThrowHelper.ThrowInvalidTensor(
                name,
                $"has shape {FormatShape(shape)} of dtype {SafeTensorsDTypes.ToName(dtype)}: {elements} × {dtype.BitSize()} bits = {bits} bits, not a whole number of bytes.");
        }

        return (elements, bits / 8);
    }

    /// <summary>Reads an array of non-negative integers; <paramref name="length"/> is -1 for any length.</summary>
    private static long[] ReadIntegers(string name, JsonElement entry, string property, int length)
    {
        if (!entry.TryGetProperty(property, out JsonElement array) || array.ValueKind != JsonValueKind.Array)
        {
            ThrowHelper.ThrowInvalidTensor(name, $"has no array '{property}' in the header.");
        }

        int count = array.GetArrayLength();
        if (length >= 0 && count != length)
        {
            ThrowHelper.ThrowInvalidTensor(name, $"has {count} numbers in '{property}'; expected {length}.");
        }

        var values = new long[count];
        int i = 0;
        foreach (JsonElement item in array.EnumerateArray())
        {
            long value = -1;
            if (item.ValueKind == JsonValueKind.Number && item.TryGetInt64(out long parsed))
            {
                value = parsed;
            }

            if (value < 0)
            {
                ThrowHelper.ThrowInvalidTensor(
                    name, $"has '{ThrowHelper.Abbreviate(item.GetRawText())}' in '{property}'; expected a non-negative integer below 2^63.");
            }

            values[i++] = value;
        }

        return values;
    }

    private static int CompareByOffsets(SafeTensorInfo left, SafeTensorInfo right)
    {
        int order = left.DataStart.CompareTo(right.DataStart);
        if (order == 0)
        {
            order = left.DataEnd.CompareTo(right.DataEnd);
        }

        return order != 0 ? order : string.CompareOrdinal(left.Name, right.Name);
    }

    /// <summary>Checks that the byte ranges, sorted by <see cref="CompareByOffsets"/>, tile the data section exactly.</summary>
    private static void ValidateOffsets(SafeTensorInfo[] sorted, long dataLength)
    {
        foreach (SafeTensorInfo info in sorted)
        {
            if (info.DataEnd > dataLength)
            {
                ThrowHelper.ThrowInvalidTensor(
                    info.Name,
                    $"has data_offsets [{info.DataStart}, {info.DataEnd}], beyond the data section of {dataLength} bytes: the offsets are out of range or the file is truncated.");
            }
        }

        long covered = 0;
        SafeTensorInfo? previous = null;
        foreach (SafeTensorInfo info in sorted)
        {
            if (info.DataStart < covered)
            {
                ThrowHelper.ThrowInvalidTensor(
                    info.Name,
                    $"has data_offsets [{info.DataStart}, {info.DataEnd}], overlapping tensor '{ThrowHelper.Abbreviate(previous!.Name)}' at [{previous.DataStart}, {previous.DataEnd}].");
            }

            if (info.DataStart > covered)
            {
                ThrowHelper.ThrowInvalidTensor(
                    info.Name,
                    $"has data_offsets [{info.DataStart}, {info.DataEnd}], leaving bytes [{covered}, {info.DataStart}) before it in no tensor; the format allows no gaps.");
            }

            covered = info.DataEnd;
            previous = info;
        }

        if (covered != dataLength)
        {
            ThrowHelper.ThrowInvalidData(
                $"The data section has {dataLength} bytes, but the tensors cover only the first {covered}; the format allows no trailing bytes.");
        }
    }
}
