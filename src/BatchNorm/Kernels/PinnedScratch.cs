using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BatchNorm.Kernels;

/// <summary>
/// Scratch memory of the calling thread that helper threads may use through a pointer while the call lasts: arrays on
/// the pinned object heap, one per slot and element type, kept for the thread's next call and grown (to a power of two)
/// when a call needs more, so a call allocates nothing once they are large enough. Nothing in them outlives a call.
/// </summary>
internal static unsafe class PinnedScratch
{
    /// <summary>A value per channel: the constant each channel's reduction is taken about.</summary>
    public const int ChannelValues = 0;

    /// <summary>The partial sums of <see cref="ColumnBlocks"/>.</summary>
    public const int Partials = 1;

    /// <summary>The per-channel constants of a separate element pass: <see cref="ChannelConstants{T}.ForEveryChannel"/>.</summary>
    public const int Constants = 2;

    /// <summary>Their <see cref="double"/> forms (a slot of its own, apart from <see cref="Constants"/> when T is double).</summary>
    public const int WideConstants = 3;

    /// <summary>The per-channel x̂ center, inverse weight and gradient scale of a backward from the output.</summary>
    public const int FromOutput = 4;

    /// <summary>The pieces of 16-bit data widened by <see cref="Staging{T, TData}"/>: its first tensor (and output), its second and its third.</summary>
    public const int StagedA = 5;

    /// <inheritdoc cref="StagedA"/>
    public const int StagedB = 6;

    /// <inheritdoc cref="StagedA"/>
    public const int StagedC = 7;

    /// <summary>The forward's constants of every channel that a backward's mask recomputes (<see cref="GradientMask{T, TData}"/>), and their wide forms.</summary>
    public const int MaskConstants = 8;

    /// <inheritdoc cref="MaskConstants"/>
    public const int WideMaskConstants = 9;

    /// <summary>
    /// A column reduction's constants and its two sums in the order <see cref="SixteenBitColumns"/> keeps them, a row's
    /// width of each (doubles); the side-by-side column constants of a 16-bit column element pass too many for the stack
    /// (floats, <see cref="SixteenBitRuns"/>).
    /// </summary>
    public const int DeinterleavedColumns = 10;

    private const int SlotCount = 11;

    /// <summary>At least <paramref name="length"/> values in slot <paramref name="slot"/>; the contents are undefined.</summary>
    public static TValue* Get<TValue>(int slot, long length)
        where TValue : unmanaged => Slots<TValue>.Get(slot, length);

    private static class Slots<TValue>
        where TValue : unmanaged
    {
        [ThreadStatic]
        private static TValue[]?[]? t_slots;

        public static TValue* Get(int slot, long length)
        {
            TValue[]?[] slots = t_slots ??= new TValue[]?[SlotCount];
            TValue[]? array = slots[slot];
            if (array is null || array.Length < length)
            {
                int size = (int)Math.Max(64, BitOperations.RoundUpToPowerOf2((ulong)length));
                array = slots[slot] = GC.AllocateUninitializedArray<TValue>(size, pinned: true);
            }

            return (TValue*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        }
    }
}
