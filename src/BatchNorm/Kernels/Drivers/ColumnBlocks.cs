using System;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>
/// A column-path reduction cut into row blocks as well as chunks of channels: where a layout's channels make few chunks
/// (<see cref="KernelPlan.RowBlocks{T}"/>), each chunk's rows are cut into blocks whose number comes from the shape alone;
/// each (chunk, block) task reduces its rows into partial sums of its own, and <see cref="Merge"/> adds a chunk's blocks
/// in block order. So an <c>(M, C)</c> reduction with few channels runs on every core, and its results are the same
/// bits for every thread count. With one block the merge is a copy, the same bits as reducing the rows in one go.
/// </summary>
internal readonly unsafe struct ColumnBlocks
{
    private readonly double* _partials;

    private ColumnBlocks(double* partials, int count, int rows)
    {
        _partials = partials;
        Count = count;
        Rows = rows;
    }

    /// <summary>The row blocks of each chunk.</summary>
    public int Count { get; }

    /// <summary>The rows of each block (the last block of a chunk may have fewer).</summary>
    public int Rows { get; }

    /// <summary>Whether the reduction was not split: the chunks reduce their rows themselves.</summary>
    public bool IsEmpty => _partials == null;

    /// <summary>
    /// Reduces <paramref name="a"/> (and <paramref name="b"/>) over the rows of every chunk of <paramref name="block"/>
    /// channels, about <paramref name="channelConstant"/>, in <paramref name="rowBlocks"/> blocks per chunk, on up to
    /// <paramref name="maxDegreeOfParallelism"/> threads; the partial sums live in the calling thread's scratch until its
    /// next call.
    /// </summary>
    public static ColumnBlocks Reduce<T, TSums>(T* a, T* b, BatchNormLayout layout, int block, int rowBlocks, double* channelConstant, int maxDegreeOfParallelism)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TSums : ITwoSums
    {
        int chunks = (layout.Channels + block - 1) / block, tasks = chunks * rowBlocks;
        double* partials = PinnedScratch.Get<double>(PinnedScratch.Partials, 2L * tasks * KernelPlan.ColumnSegment);
        var blocks = new ColumnBlocks(partials, rowBlocks, (layout.BatchSize + rowBlocks - 1) / rowBlocks);
        var body = new BlockTask<T, TSums> { A = a, B = b, Layout = layout, Block = block, Constant = channelConstant, Blocks = blocks };
        ParallelChunks.Run(body, tasks, TSums.Streams * layout.Length, maxDegreeOfParallelism);
        return blocks;
    }

    /// <summary>first[e], second[e] = the partial sums of chunk <paramref name="chunk"/>'s blocks, added in block order.</summary>
    public void Merge(int chunk, int segment, double* first, double* second)
    {
        Span<double> totalFirst = new(first, segment), totalSecond = new(second, segment);
        for (int i = chunk * Count; i < (chunk + 1) * Count; i++)
        {
            ReadOnlySpan<double> partFirst = new(First(i), segment), partSecond = new(Second(i), segment);
            if (i == chunk * Count)
            {
                partFirst.CopyTo(totalFirst);
                partSecond.CopyTo(totalSecond);
            }
            else
            {
                // Element by element: each column's sum is the same bits on every vector width.
                TensorPrimitives.Add(totalFirst, partFirst, totalFirst);
                TensorPrimitives.Add(totalSecond, partSecond, totalSecond);
            }
        }
    }

    private double* First(int task) => _partials + 2L * task * KernelPlan.ColumnSegment;

    private double* Second(int task) => First(task) + KernelPlan.ColumnSegment;

    /// <summary>Task <c>chunk * Count + block</c>: one block of rows of one chunk of channels.</summary>
    private struct BlockTask<T, TSums> : IChunkBody
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TSums : ITwoSums
    {
        public T* A;
        public T* B;
        public BatchNormLayout Layout;
        public int Block;
        public double* Constant;
        public ColumnBlocks Blocks;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        [SkipLocalsInit] // the expanded constants are written before they are read
        public readonly void Run(int task)
        {
            int chunk = task / Blocks.Count, r0 = task % Blocks.Count * Blocks.Rows, s = Layout.SpatialSize;
            int c0 = chunk * Block, width = Math.Min(Block, Layout.Channels - c0), rows = Math.Clamp(Layout.BatchSize - r0, 0, Blocks.Rows);
            long stride = (long)Layout.Channels * s, first = r0 * stride + (long)c0 * s;
            double* constant = stackalloc double[KernelPlan.ColumnSegment];
            ChannelConstants<T>.Expand(Constant + c0, width, s, constant);
            var block = new ColumnRows<T>(A + first, B + first, stride, rows, width * s);
            ColumnReduction.Accumulate<T, TSums>(block, constant, Blocks.First(task), Blocks.Second(task));
        }
    }
}
