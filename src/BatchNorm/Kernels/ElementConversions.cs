using System;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>
/// The conversions between a tensor's element type <c>TData</c> (<see cref="float"/>, <see cref="double"/>,
/// <see cref="Half"/> or <see cref="BFloat16"/>) and a layer's type <c>T</c> (<see cref="float"/> or <see cref="double"/>):
/// widening is exact (every 16-bit value is a float), and narrowing rounds once, to nearest with ties to even, from
/// <c>T</c> straight to <c>TData</c>. From <see cref="float"/> they take a vector at a time
/// (<see cref="SixteenBitConversions{TData, TFormat}"/>);
/// to and from <see cref="double"/> an element at a time.
/// </summary>
internal static unsafe class ElementConversions
{
    /// <summary><paramref name="value"/> as a double, exactly.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double ToDouble<TData>(TData value)
        where TData : unmanaged =>
        typeof(TData) == typeof(double) ? Unsafe.BitCast<TData, double>(value)
        : typeof(TData) == typeof(float) ? Unsafe.BitCast<TData, float>(value)
        : typeof(TData) == typeof(Half) ? (double)Unsafe.BitCast<TData, Half>(value)
        : (float)Unsafe.BitCast<TData, BFloat16>(value);

    /// <summary><paramref name="value"/> as a <typeparamref name="T"/>, exactly (the same bits when the types are the same).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T To<T, TData>(TData value)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged =>
        typeof(T) == typeof(TData) ? Unsafe.BitCast<TData, T>(value) : T.CreateTruncating(ToDouble(value));

    /// <summary>destination[i] = source[i] as a <typeparamref name="T"/>, exactly.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Widen<TData, T>(TData* source, T* destination, int count)
        where TData : unmanaged
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && typeof(TData) == typeof(Half))
        {
            SixteenBitConversions<Half, HalfBits>.Widen((Half*)source, (float*)destination, count);
        }
        else if (typeof(T) == typeof(float) && typeof(TData) == typeof(BFloat16))
        {
            SixteenBitConversions<BFloat16, BFloat16Bits>.Widen((BFloat16*)source, (float*)destination, count);
        }
        else
        {
            for (int i = 0; i < count; i++)
            {
                destination[i] = T.CreateTruncating(ToDouble(source[i]));
            }
        }
    }

    /// <summary>destination[i] = source[i] rounded once to <typeparamref name="TData"/>: to nearest, ties to even; NaN stays NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Narrow<T, TData>(T* source, TData* destination, int count)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged
    {
        if (typeof(T) == typeof(float) && typeof(TData) == typeof(Half))
        {
            SixteenBitConversions<Half, HalfBits>.Narrow((float*)source, (Half*)destination, count);
        }
        else if (typeof(T) == typeof(float) && typeof(TData) == typeof(BFloat16))
        {
            SixteenBitConversions<BFloat16, BFloat16Bits>.Narrow((float*)source, (BFloat16*)destination, count);
        }
        else
        {
            for (int i = 0; i < count; i++)
            {
                destination[i] = FromDouble<TData>(double.CreateTruncating(source[i]));
            }
        }
    }

    /// <summary><paramref name="value"/> rounded once to <typeparamref name="TData"/> (<see cref="Half"/> or <see cref="BFloat16"/>).</summary>
    public static TData FromDouble<TData>(double value)
        where TData : unmanaged =>
        typeof(TData) == typeof(Half) ? Unsafe.BitCast<Half, TData>((Half)value) : Unsafe.BitCast<BFloat16, TData>(ToBFloat16(value));

    /// <summary>
    /// <paramref name="value"/> rounded once to <see cref="BFloat16"/>: first to float rounding to odd (truncated, with
    /// its last bit set when inexact), which keeps the one rounding to BFloat16's 8 bits exact, float having 16 more.
    /// </summary>
    private static BFloat16 ToBFloat16(double value)
    {
        float f = (float)value;
        if (double.IsNaN(value) || (double)f == value)
        {
            return (BFloat16)f;
        }

        uint bits = BitConverter.SingleToUInt32Bits(f);
        if (Math.Abs((double)f) > Math.Abs(value))
        {
            bits--; // rounded away from zero: truncate
        }

        return (BFloat16)BitConverter.UInt32BitsToSingle(bits | 1);
    }
}
