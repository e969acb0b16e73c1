using System;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>
/// The column-path reductions of rows up to <see cref="KernelPlan.MaxBlockRowElements"/> wide: the rows are cut into
/// blocks (<see cref="KernelPlan.RowBlocks{T}"/>, a number from the shape alone), each block reduces whole rows — every
/// column of a row in one sweep, so memory is read row after row as it lies — into partial sums of its own, on every core,
/// and <see cref="Merge"/> adds a column's blocks in block order. The results are the same bits for every thread count;
/// with one block the merge is a copy, the same bits as reducing the rows in one go.
/// </summary>
internal readonly unsafe struct ColumnBlocks
{
    private readonly double* _partials;
    private readonly int _width;

    private ColumnBlocks(double* partials, int width, int count, int rows)
    {
        _partials = partials;
        _width = width;
        Count = count;
        Rows = rows;
    }

    /// <summary>The row blocks.</summary>
    public int Count { get; }

    /// <summary>The rows of each block (the last may have fewer).</summary>
    public int Rows { get; }

    /// <summary>Whether the reduction was not cut into blocks: each chunk of channels reduces its rows itself.</summary>
    public bool IsEmpty => _partials == null;

    /// <summary>
    /// Reduces <paramref name="a"/> (and <paramref name="b"/>) over the rows of every column, about the channel constants
    /// <paramref name="channelConstant"/>, in <paramref name="rowBlocks"/> blocks on up to
    /// <paramref name="maxDegreeOfParallelism"/> threads; the partial sums live in the calling thread's
    /// <see cref="PinnedScratch"/> until its next call. With a <paramref name="mask"/>, <paramref name="a"/> is its dz,
    /// each group of rows masked just before it is read.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ColumnBlocks Reduce<T, TData, TSums>(
        TData* a, TData* b, BatchNormLayout layout, int rowBlocks, double* channelConstant, int maxDegreeOfParallelism, in GradientMask<T, TData> mask = default)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged
        where TSums : ITwoSums
    {
        int width = layout.Channels * layout.SpatialSize;
        double* partials = PinnedScratch.Get<double>(PinnedScratch.Partials, (2L * rowBlocks + 1) * width);
        double* constant = partials + (2L * rowBlocks * width);
        ChannelConstants<T>.Expand(channelConstant, layout.Channels, layout.SpatialSize, constant);
        var blocks = new ColumnBlocks(partials, width, rowBlocks, (layout.BatchSize + rowBlocks - 1) / rowBlocks);
        var body = new BlockTask<T, TData, TSums> { A = a, B = b, Layout = layout, Constant = constant, Blocks = blocks, Mask = mask };
        ParallelChunks.Run(body, rowBlocks, TSums.Streams * (long)layout.Length, maxDegreeOfParallelism);
        return blocks;
    }

    /// <summary>
    /// first[e], second[e] = the sums of the <paramref name="count"/> columns from <paramref name="column"/> on, each
    /// column's blocks added in block order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Merge(int column, int count, double* first, double* second)
    {
        // A plain loop, not TensorPrimitives.Add: that ran unoptimized (tier 0) through a training forward's first
        // hundreds of calls, where it took a quarter of the element pass's time (perf, 256x1024, one thread).
        new ReadOnlySpan<double>(First(0) + column, count).CopyTo(new Span<double>(first, count));
        new ReadOnlySpan<double>(Second(0) + column, count).CopyTo(new Span<double>(second, count));
        for (int block = 1; block < Count; block++)
        {
            double* partFirst = First(block) + column, partSecond = Second(block) + column;
            for (int e = 0; e < count; e++)
            {
                first[e] += partFirst[e];
                second[e] += partSecond[e];
            }
        }
    }

    private double* First(int block) => _partials + (2L * block * _width);

    private double* Second(int block) => First(block) + _width;

    /// <summary>One block of whole rows.</summary>
    private struct BlockTask<T, TData, TSums> : IChunkBody
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged
        where TSums : ITwoSums
    {
        public TData* A;
        public TData* B;
        public BatchNormLayout Layout;
        public double* Constant;
        public ColumnBlocks Blocks;
        public GradientMask<T, TData> Mask;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run(int block)
        {
            int width = Layout.Channels * Layout.SpatialSize, r0 = block * Blocks.Rows;
            int rows = Math.Clamp(Layout.BatchSize - r0, 0, Blocks.Rows);
            long first = (long)r0 * width;
            var rowsOfBlock = new ColumnRows<TData>(A + first, B + first, width, rows, width);
            GradientMask<T, TData> mask = Mask.IsEmpty ? default : Mask.Region(r0, 0, Layout.Channels);
            Staging<T, TData>.ForThread(width).AccumulateColumns<TSums>(rowsOfBlock, Constant, Blocks.First(block), Blocks.Second(block), mask);
        }
    }
}
