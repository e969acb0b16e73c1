using System;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using BatchNorm.Kernels;

namespace BatchNorm.Serialization;

/// <summary>A tensor's little-endian bytes as elements of a .NET type: the conversions behind <see cref="SafeTensorsReader.ReadTensor{T}"/>.</summary>
internal static class SafeTensorsDecoding
{
    /// <summary>destination[i] = element i of <paramref name="bytes"/>, of <paramref name="dtype"/>, as a <typeparamref name="T"/>.</summary>
    public static void Decode<T>(SafeTensorsDType dtype, ReadOnlySpan<byte> bytes, Span<T> destination)
        where T : unmanaged
    {
        if (typeof(T) == typeof(long))
        {
            Span<long> values = MemoryMarshal.Cast<T, long>(destination);
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = BinaryPrimitives.ReadInt64LittleEndian(bytes.Slice(i * sizeof(long)));
            }
        }
        else if (typeof(T) == typeof(float))
        {
            Span<float> values = MemoryMarshal.Cast<T, float>(destination);
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = dtype == SafeTensorsDType.F32
                    ? BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(i * sizeof(float)))
                    : (float)ReadAsDouble(dtype, bytes, i);
            }
        }
        else if (typeof(T) == typeof(double))
        {
            Span<double> values = MemoryMarshal.Cast<T, double>(destination);
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = ReadAsDouble(dtype, bytes, i);
            }
        }
        else if (dtype == (typeof(T) == typeof(Half) ? SafeTensorsDType.F16 : SafeTensorsDType.BF16))
        {
            Span<ushort> values = MemoryMarshal.Cast<T, ushort>(destination);
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = BinaryPrimitives.ReadUInt16LittleEndian(bytes.Slice(i * 2));
            }
        }
        else
        {
            // Half or BFloat16 from another dtype: every value is exact as a double, so this rounds once.
            for (int i = 0; i < destination.Length; i++)
            {
                destination[i] = ElementConversions.FromDouble<T>(ReadAsDouble(dtype, bytes, i));
            }
        }
    }

    /// <summary>Element <paramref name="index"/> of a floating-point tensor; exact for every dtype but <c>F64</c> narrowed later.</summary>
    private static double ReadAsDouble(SafeTensorsDType dtype, ReadOnlySpan<byte> bytes, int index) =>
        dtype switch
        {
            SafeTensorsDType.F16 => (double)BinaryPrimitives.ReadHalfLittleEndian(bytes.Slice(index * 2)),
            SafeTensorsDType.BF16 => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes.Slice(index * 2)) << 16),
            SafeTensorsDType.F32 => BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(index * 4)),
            _ => BinaryPrimitives.ReadDoubleLittleEndian(bytes.Slice(index * 8)),
        };
}
