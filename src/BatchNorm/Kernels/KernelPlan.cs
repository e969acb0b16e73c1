using System;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>
/// Every decision the engine takes from a layout alone, and every threshold behind it: run or column path, fused or
/// separate passes, the channels a chunk takes, and when work goes to other threads. Nothing here depends on the
/// thread count or the vector width, so neither changes a result. The figures that chose each threshold are in
/// benchmarks/README.md (the sections "What limits each figure" and "Tried and measured, not adopted"); ARCHITECTURE.md
/// lists them per threshold.
/// </summary>
internal static class KernelPlan
{
    /// <summary>The most channels one chunk takes, and the length of its per-channel scratch buffers.</summary>
    public const int MaxBlock = 64;

    /// <summary>
    /// Runs shorter than this many bytes take the column path (<see cref="ColumnDriver"/>): one vector of float, below
    /// which a run's loop set-up costs more than its elements.
    /// </summary>
    public const int ColumnRunBytes = 64;

    /// <summary>The most elements a column-path chunk spans per sample: the length of its per-element buffers.</summary>
    public const int ColumnSegment = 512;

    /// <summary>
    /// Runs of at least this many bytes fuse a chunk's passes (the second read from cache); shorter runs fused measured
    /// worse than two separate passes in memory order (benchmarks/README.md, "Short runs").
    /// </summary>
    public const long FusedRunBytes = 4096;

    /// <summary>
    /// The bytes of each tensor a fused chunk's channels span: small enough that its second pass finds them in the
    /// last-level cache, large enough that each sample's part of the chunk streams (1, 2 and 4 MB measured; 2 and 4
    /// best, benchmarks/README.md "Fused chunks of one channel").
    /// </summary>
    public const long FusedChunkBytes = 2L << 20;

    /// <summary>
    /// The contiguous bytes per sample a chunk of a reduction pass aims for, so that its reads stream (2 KB measured
    /// slower everywhere, benchmarks/README.md "Shorter reduction chunks").
    /// </summary>
    public const long StreamBytes = 16 * 1024;

    /// <summary>The bytes an element-pass chunk aims for (see <see cref="ElementPartition{T}"/>).</summary>
    public const long ChunkBytes = 256 * 1024;

    /// <summary>
    /// Runs of at least this many bytes store their ends element by element rather than as overlapping vectors
    /// (<see cref="RunDriver"/>): overlapping ends made 2 KB runs 5-20 % slower when arrays are not 64-byte aligned, as
    /// .NET's large arrays are not (benchmarks/README.md, "Alignment").
    /// </summary>
    public const int ScalarEndsBytes = 2048;

    /// <summary>
    /// The rows (times the tensors read) a column reduction strip walks with its accumulators in registers before it
    /// stores them and the next strip takes the same rows: so few that the rows stream side by side (rows 4 KB apart
    /// share an L1 set, and eight fit its ways).
    /// </summary>
    public const int RowBlock = 8;

    /// <summary>
    /// The widest rows (elements per sample, <c>C·S</c>) whose column-path reductions sweep whole rows in row blocks
    /// (<see cref="ColumnBlocks"/>): a block's two accumulators and its constants, a double each per column, then take at
    /// most 192 KB, within L2. Chunk by chunk of 64 channels, a reduction read 256 bytes of every 4 KB row of
    /// <c>65536x1024</c> per chunk, 3.4× the time its arithmetic takes in cache (statistics 72 ms, copy 19 ms, one
    /// thread). Wider rows are still reduced chunk by chunk of channels.
    /// </summary>
    public const int MaxBlockRowElements = 8192;

    /// <summary>The most row blocks: enough for 2 to 16 cores to take several each; a count from the shape alone, never the thread count.</summary>
    public const int MaxRowBlocks = 16;

    /// <summary>
    /// The fewest rows of a row block: its partial sums (two doubles per column, written and merged once) then cost at
    /// most 1/16 of the bytes its float rows read.
    /// </summary>
    public const int MinBlockRows = 64;

    /// <summary>Below this many elements a pass stays on the calling thread: waking a helper costs more than it saves.</summary>
    public const long MinElementsForParallel = 1 << 16;

    /// <summary>
    /// Whether a layout's runs are short enough for the column path: each sample's part of a chunk, its channels' runs
    /// side by side, is then one contiguous segment walked row by row with per-element constants, rather than many
    /// short runs each paying a loop's set-up.
    /// </summary>
    public static bool UsesColumns<T>(BatchNormLayout layout) =>
        layout.SpatialSize >= 1 && (long)layout.SpatialSize * Unsafe.SizeOf<T>() < ColumnRunBytes;

    /// <summary>
    /// Whether a pass that reads the data twice (statistics or sums, then the element pass) does both per chunk of
    /// channels, the second read from cache: only where a channel's runs are long enough to stream on their own. Otherwise
    /// the passes are separate and each walks memory in long contiguous pieces.
    /// </summary>
    public static bool FusesPasses<T>(BatchNormLayout layout) =>
        (long)layout.SpatialSize * Unsafe.SizeOf<T>() >= FusedRunBytes;

    /// <summary>
    /// The consecutive channels a chunk of a reduction pass takes: where the passes are fused, as many as span about
    /// <see cref="FusedChunkBytes"/> of each tensor (at least one); on the column path, as many as fill
    /// <see cref="ColumnSegment"/>; otherwise about <see cref="StreamBytes"/> per sample.
    /// </summary>
    public static int ChannelsPerChunk<T>(BatchNormLayout layout, bool fused)
    {
        if (fused)
        {
            long channelBytes = Math.Max(1L, (long)layout.ValuesPerChannel * Unsafe.SizeOf<T>());
            return (int)Math.Clamp(FusedChunkBytes / channelBytes, 1, MaxBlock);
        }

        if (UsesColumns<T>(layout))
        {
            return Math.Clamp(ColumnSegment / layout.SpatialSize, 1, MaxBlock);
        }

        long runBytes = Math.Max(1L, (long)layout.SpatialSize * Unsafe.SizeOf<T>());
        return (int)Math.Clamp((StreamBytes + runBytes - 1) / runBytes, 1, MaxBlock);
    }

    /// <summary>
    /// The row blocks of a column-path reduction of whole rows (<see cref="ColumnBlocks"/>): one per
    /// <see cref="MinBlockRows"/> rows, at least 1 and at most <see cref="MaxRowBlocks"/>; 0 where the layout is not on
    /// the column path or its rows are wider than <see cref="MaxBlockRowElements"/> (each chunk of channels reduces its
    /// own columns).
    /// </summary>
    public static int RowBlocks<T>(BatchNormLayout layout) =>
        UsesColumns<T>(layout) && (long)layout.Channels * layout.SpatialSize <= MaxBlockRowElements
            ? Math.Clamp(layout.BatchSize / MinBlockRows, 1, MaxRowBlocks)
            : 0;

    /// <summary>Whether a pass over <paramref name="elementCount"/> elements in <paramref name="chunks"/> chunks may use other threads.</summary>
    public static bool IsParallel(long elementCount, int chunks) => chunks > 1 && elementCount >= MinElementsForParallel;

    /// <summary>
    /// The plan of a pass that reduces and, when <paramref name="elementPass"/>, then writes an output: what tests assert
    /// to prove that a shape takes the path it stands for.
    /// </summary>
    public static Summary Describe<T>(BatchNormLayout layout, bool elementPass)
    {
        bool fused = elementPass && FusesPasses<T>(layout);
        int perChunk = ChannelsPerChunk<T>(layout, fused);
        int reductionChunks = (layout.Channels + perChunk - 1) / perChunk;
        int rowBlocks = RowBlocks<T>(layout);
        int elementChunks = elementPass && !fused ? new ElementPartition<T>(layout).Count : 0;
        return new Summary(
            UsesColumns<T>(layout), fused, perChunk, reductionChunks, rowBlocks, elementChunks, IsParallel(layout.Length, rowBlocks > 0 ? rowBlocks : reductionChunks));
    }

    /// <summary>What <see cref="Describe{T}"/> decided.</summary>
    /// <param name="UsesColumns">Short runs walked row by row (<see cref="ColumnDriver"/>), rather than run by run.</param>
    /// <param name="Fused">Each chunk's element pass right after its reduction, the second read from cache.</param>
    /// <param name="ChannelsPerChunk">The channels a reduction chunk takes (the last may take fewer).</param>
    /// <param name="ReductionChunks">The chunks of channels of the reduction pass.</param>
    /// <param name="RowBlocks">The row blocks of a reduction of whole rows (<see cref="ColumnBlocks"/>); 0 when each chunk reduces its own columns.</param>
    /// <param name="ElementChunks">The chunks of a separate element pass; 0 when there is none (fused, or no output).</param>
    /// <param name="ReductionIsParallel">Whether the reduction pass may use other threads.</param>
    public readonly record struct Summary(
        bool UsesColumns, bool Fused, int ChannelsPerChunk, int ReductionChunks, int RowBlocks, int ElementChunks, bool ReductionIsParallel);
}
