using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>
/// Room for the per-element constants of one column-path segment (<see cref="ChannelConstants{T}.PerElement"/>) as a
/// caller's local, so the column loops allocate nothing: <see cref="KernelPlan.ColumnSegment"/> entries of each of the
/// <see cref="ChannelConstants{T}.Count"/> arrays in <typeparamref name="T"/> and in <see cref="double"/>, and the
/// flags. It is written before it is read, so its callers skip zeroing it (<c>[SkipLocalsInit]</c>).
/// </summary>
internal struct SegmentScratch<T>
    where T : unmanaged
{
    public SegmentArray<T> Values;
    public SegmentArray<double> Wide;
    public SegmentArray<bool> Exact;
}

/// <summary>One array of a <see cref="SegmentScratch{T}"/>: an entry per element of a segment for every constant.</summary>
[InlineArray(ChannelConstants<float>.Count * KernelPlan.ColumnSegment)]
internal struct SegmentArray<TValue>
    where TValue : unmanaged
{
    private TValue _element;
}
