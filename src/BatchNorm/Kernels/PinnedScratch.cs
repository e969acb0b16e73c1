using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BatchNorm.Kernels;

/// <summary>
/// Scratch memory of the calling thread that helper threads may write through a pointer while the call lasts: arrays on
/// the pinned object heap, one per slot, kept for the thread's next call and grown (to a power of two) when a call needs
/// more, so a call allocates nothing once they are large enough.
/// </summary>
internal static unsafe class PinnedScratch
{
    /// <summary>A value per channel: the constant each channel's reduction is taken about.</summary>
    public const int ChannelValues = 0;

    /// <summary>The partial sums of <see cref="ColumnBlocks"/>.</summary>
    public const int Partials = 1;

    [ThreadStatic]
    private static double[]?[]? t_slots;

    /// <summary>At least <paramref name="length"/> doubles of slot <paramref name="slot"/>; the contents are undefined.</summary>
    public static double* Doubles(int slot, long length)
    {
        double[]?[] slots = t_slots ??= new double[]?[2];
        double[]? array = slots[slot];
        if (array is null || array.Length < length)
        {
            array = slots[slot] = GC.AllocateUninitializedArray<double>((int)Math.Max(64, BitOperations.RoundUpToPowerOf2((ulong)length)), pinned: true);
        }

        return (double*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
    }
}
