using System;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>
/// The per-channel constants of an element formula, struct of arrays: <see cref="Count"/> arrays of
/// <typeparamref name="T"/> for the vector loops, the same arrays in <see cref="double"/> for channels whose constants
/// <typeparamref name="T"/> cannot hold (the wide path), and per channel whether <typeparamref name="T"/> holds them
/// (<see cref="Exact"/>). Which array holds which constant is the formula's (<see cref="NormalizeCoefficients"/>,
/// <see cref="InputGradientCoefficients"/>).
/// </summary>
internal readonly unsafe struct ChannelConstants<T>
    where T : unmanaged
{
    /// <summary>The arrays of each element type: as many as the largest formula has constants.</summary>
    public const int Count = 5;

    /// <summary>Per channel: whether the <typeparamref name="T"/> constants serve (else the wide ones do).</summary>
    public readonly bool* Exact;

    private readonly T* _values;
    private readonly double* _wide;
    private readonly int _length;

    /// <summary>Views buffers of <see cref="Count"/> * <paramref name="length"/> values of each type and <paramref name="length"/> flags.</summary>
    public ChannelConstants(T* values, double* wide, bool* exact, int length)
    {
        _values = values;
        _wide = wide;
        Exact = exact;
        _length = length;
    }

    public bool IsEmpty => _values == null;

    /// <summary>Array <paramref name="k"/> of <typeparamref name="T"/> constants.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T* Values(int k) => _values + k * _length;

    /// <summary>Array <paramref name="k"/> of <see cref="double"/> constants.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double* Wide(int k) => _wide + k * _length;

    /// <summary>The constants from channel <paramref name="c0"/> on.</summary>
    public ChannelConstants<T> From(int c0) => new(_values + c0, _wide + c0, Exact + c0, _length);

    /// <summary>
    /// The constants per element of a column chunk whose runs hold <paramref name="s"/> values: these themselves for
    /// <c>S = 1</c>; otherwise expanded into the caller's <paramref name="scratch"/> (see <see cref="ExpandInto"/>), which
    /// must outlive the result.
    /// </summary>
    public ChannelConstants<T> PerElement(int width, int s, ref SegmentScratch<T> scratch)
    {
        if (s == 1)
        {
            return this;
        }

        var perElement = new ChannelConstants<T>(
            (T*)Unsafe.AsPointer(ref scratch.Values[0]), (double*)Unsafe.AsPointer(ref scratch.Wide[0]), (bool*)Unsafe.AsPointer(ref scratch.Exact[0]), KernelPlan.ColumnSegment);
        ExpandInto(perElement, width, s);
        return perElement;
    }

    /// <summary>
    /// Per element of a column-path segment: <paramref name="target"/>'s entry <c>j * s + e</c> is this entry
    /// <c>j</c>, for the <paramref name="width"/> channels of a chunk whose runs hold <paramref name="s"/> values.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void ExpandInto(in ChannelConstants<T> target, int width, int s)
    {
        for (int k = 0; k < Count; k++)
        {
            Expand(Values(k), width, s, target.Values(k));
            Expand(Wide(k), width, s, target.Wide(k));
        }

        Expand(Exact, width, s, target.Exact);
    }

    /// <summary>
    /// Room for the constants of every channel of a separate element pass, in the calling thread's
    /// <see cref="PinnedScratch"/> (valid until its next call): slots <paramref name="slot"/> (and its flags) and
    /// <paramref name="wideSlot"/>.
    /// </summary>
    public static ChannelConstants<T> ForEveryChannel(int channels, int slot = PinnedScratch.Constants, int wideSlot = PinnedScratch.WideConstants) => new(
        PinnedScratch.Get<T>(slot, Count * channels),
        PinnedScratch.Get<double>(wideSlot, Count * channels),
        PinnedScratch.Get<bool>(slot, channels),
        channels);

    /// <summary>perElement[j * s + e] = perChannel[j] for j below <paramref name="width"/> and e below <paramref name="s"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Expand<TValue>(TValue* perChannel, int width, int s, TValue* perElement)
        where TValue : unmanaged
    {
        // A plain loop, not Span.Fill: its generic code ran unoptimized (tier 0) through a process's first calls, one
        // call per channel (1.6 % of the samples of a fresh 256x1024 training forward's first 300 calls).
        for (int j = 0; j < width; j++)
        {
            TValue value = perChannel[j];
            for (int e = 0; e < s; e++)
            {
                perElement[j * s + e] = value;
            }
        }
    }
}
