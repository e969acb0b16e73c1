using System;
using System.Numerics;

namespace BatchNorm.Kernels;

/// <summary>
/// The backward's mask (<see cref="BackwardRequest{T, TData}.Activation"/>) applied a block at a time, just before the
/// sums read the block: <c>dz</c> for some samples of some channels, written into <see cref="Dz"/> by the forward's
/// normalize pass with the gradient epilogue and the forward's constants of every channel, so it is read back from the
/// first-level cache. A region (first sample and channels) makes row counts of a column reduction into blocks.
/// </summary>
internal readonly unsafe struct GradientMask<T, TData>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
    where TData : unmanaged
{
    private readonly TData* _x;
    private readonly FusedTail<TData> _tail;
    private readonly ChannelConstants<T> _forward;
    private readonly BatchNormLayout _layout;
    private readonly (int N0, int C0, int Width) _region;

    /// <summary>The mask of <paramref name="x"/>'s <paramref name="layout"/> (in storage order) into <paramref name="dz"/>.</summary>
    public GradientMask(TData* x, TData* dz, FusedTail<TData> tail, in ChannelConstants<T> forward, BatchNormLayout layout)
        : this(x, dz, tail, forward, layout, (0, 0, layout.Channels))
    {
    }

    private GradientMask(TData* x, TData* dz, FusedTail<TData> tail, in ChannelConstants<T> forward, BatchNormLayout layout, (int, int, int) region)
    {
        _x = x;
        Dz = dz;
        (_tail, _forward, _layout, _region) = (tail, forward, layout, region);
    }

    /// <summary>Where dz goes; null when there is no mask.</summary>
    public TData* Dz { get; }

    public bool IsEmpty => Dz == null;

    /// <summary>The same mask over rows that start at sample <paramref name="n0"/> and span channels <paramref name="c0"/> to <paramref name="c0"/> + <paramref name="width"/> - 1.</summary>
    public GradientMask<T, TData> Region(int n0, int c0, int width) => new(_x, Dz, _tail, _forward, _layout, (n0, c0, width));

    /// <summary>Masks rows <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/> - 1 of the region.</summary>
    public void Rows(int first, int count) => Apply(new ElementBlock(_region.N0 + first, _region.N0 + first + count, _region.C0, _region.Width));

    /// <summary>Masks <paramref name="block"/>; on the column path a column segment at a time, as the element passes take them.</summary>
    public void Apply(ElementBlock block)
    {
        int step = KernelPlan.UsesColumns<T>(_layout) ? Math.Max(1, KernelPlan.ColumnSegment / _layout.SpatialSize) : block.Width;
        for (int c = block.C0; c < block.C0 + block.Width; c += step)
        {
            var part = new ElementBlock(block.N0, block.N1, c, Math.Min(step, block.C0 + block.Width - c));
            ForwardPass.NormalizeData(_x, Dz, _layout, part, _forward.From(c), _tail);
        }
    }
}
