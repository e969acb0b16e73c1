using System;
using System.Runtime.CompilerServices;

namespace BatchNorm;

/// <summary>
/// A few values of a tensor, per channel, remembered by a forward so that its backward can tell whether it is given
/// the same memory contents: <see cref="PerChannel"/> positions per channel, spread evenly over the channel's values
/// (the middle of each of as many equal parts), compared bit for bit. Reading them costs a few loads per channel, so
/// it is always on; unchanged data never fails the check, on any thread count or machine.
/// </summary>
internal static class ForwardFingerprint
{
    /// <summary>The values remembered per channel.</summary>
    public const int PerChannel = 8;

    /// <summary>Copies the remembered values of <paramref name="data"/> into <paramref name="fingerprint"/> (length C · <see cref="PerChannel"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Take<T>(ReadOnlySpan<T> data, BatchNormLayout layout, Span<T> fingerprint)
    {
        for (int k = 0; k < PerChannel && layout.ValuesPerChannel > 0; k++)
        {
            int at = First(layout, k);
            for (int c = 0; c < layout.Channels; c++, at += layout.SpatialSize)
            {
                fingerprint[(c * PerChannel) + k] = data[at];
            }
        }
    }

    /// <summary>
    /// Where <paramref name="data"/> no longer holds the values <paramref name="fingerprint"/> remembered: the element
    /// index of the first difference, or -1 when all agree bit for bit (NaN included).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int FindChange<T>(ReadOnlySpan<T> data, BatchNormLayout layout, ReadOnlySpan<T> fingerprint)
        where T : unmanaged
    {
        for (int k = 0; k < PerChannel && layout.ValuesPerChannel > 0; k++)
        {
            int at = First(layout, k);
            for (int c = 0; c < layout.Channels; c++, at += layout.SpatialSize)
            {
                if (!SameBits(data[at], fingerprint[(c * PerChannel) + k]))
                {
                    return at;
                }
            }
        }

        return -1;
    }

    /// <summary>
    /// The element index, in channel 0, of remembered value k: the middle of the k-th of equal parts of a channel's
    /// values (channel c's is <c>c · S</c> further on).
    /// </summary>
    private static int First(BatchNormLayout layout, int k)
    {
        long m = (2L * k + 1) * layout.ValuesPerChannel / (2 * PerChannel);
        long n = m / layout.SpatialSize, s = m % layout.SpatialSize;
        return (int)((n * layout.Channels * layout.SpatialSize) + s);
    }

    private static bool SameBits<T>(T left, T right)
        where T : unmanaged =>
        typeof(T) == typeof(double)
            ? Unsafe.BitCast<T, long>(left) == Unsafe.BitCast<T, long>(right)
            : Unsafe.BitCast<T, int>(left) == Unsafe.BitCast<T, int>(right);
}
