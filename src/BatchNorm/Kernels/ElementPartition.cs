using System;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>
/// The chunks of a separate element pass, in memory order: blocks of channels by blocks of samples, about
/// <see cref="KernelPlan.ChunkBytes"/> each, so each sample's part of a chunk is one contiguous piece (a whole sample where
/// it is small enough). An element pass has no reductions, so any partition gives the same results; this one depends
/// only on the layout.
/// </summary>
internal readonly struct ElementPartition<T>
{
    private readonly int _rows;
    private readonly int _width;
    private readonly int _channelBlocks;
    private readonly BatchNormLayout _layout;

    public ElementPartition(BatchNormLayout layout)
    {
        _layout = layout;
        int c = Math.Max(layout.Channels, 1);
        long runBytes = Math.Max(1L, (long)layout.SpatialSize * Unsafe.SizeOf<T>());

        // Column chunks with S > 1 expand their constants into ColumnSegment-long buffers; S = 1 needs none, so its
        // chunks take whole rows, and each thread writes memory of its own.
        _width = KernelPlan.UsesColumns<T>(layout) && layout.SpatialSize > 1
            ? Math.Clamp(KernelPlan.ColumnSegment / layout.SpatialSize, 1, c)
            : (int)Math.Clamp(KernelPlan.ChunkBytes / runBytes, 1, c);
        _rows = (int)Math.Clamp(KernelPlan.ChunkBytes / (_width * runBytes), 1, Math.Max(layout.BatchSize, 1));
        _channelBlocks = (c + _width - 1) / _width;
        Count = layout.Length == 0 ? 0 : _channelBlocks * ((layout.BatchSize + _rows - 1) / _rows);
    }

    public int Count { get; }

    /// <summary>Chunk <paramref name="chunk"/>: samples n0 to n1 - 1 of channels c0 to c0 + width - 1.</summary>
    public ElementBlock this[int chunk]
    {
        get
        {
            int n0 = chunk / _channelBlocks * _rows, c0 = chunk % _channelBlocks * _width;
            return new ElementBlock(n0, Math.Min(n0 + _rows, _layout.BatchSize), c0, Math.Min(_width, _layout.Channels - c0));
        }
    }
}

/// <summary>A block of an element pass: samples <see cref="N0"/> to <see cref="N1"/> - 1 of channels <see cref="C0"/> to <see cref="C0"/> + <see cref="Width"/> - 1.</summary>
internal readonly record struct ElementBlock(int N0, int N1, int C0, int Width)
{
    /// <summary>Every sample of channels <paramref name="c0"/> to <paramref name="c0"/> + <paramref name="width"/> - 1 (a fused chunk's block).</summary>
    public static ElementBlock AllSamples(BatchNormLayout layout, int c0, int width) => new(0, layout.BatchSize, c0, width);
}
