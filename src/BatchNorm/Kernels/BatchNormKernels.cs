using System;
using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using BatchNorm.Kernels;

namespace BatchNorm;

/// <summary>
/// The stateless, allocation-free functional API under the layers: span in, span out, for a channel-major
/// <see cref="BatchNormLayout"/> <c>(N, C, S)</c>. The element type <c>T</c> of each method is <see cref="float"/>
/// or <see cref="double"/>.
/// </summary>
/// <remarks>
/// <para>
/// Per-channel statistics are <see cref="double"/> whatever the element type: they accumulate in <see cref="double"/>
/// around a shift (the channel's first value), so <c>float</c> data with a large mean relative to its spread keeps
/// float's accuracy.
/// </para>
/// <para>
/// Work is split across threads by blocks of channels for the reductions, every channel's sums computed by one thread
/// in a fixed order, and by blocks of samples and channels for the element-wise passes, so results are bit-identical
/// for every degree of parallelism. A <c>maxDegreeOfParallelism</c> of -1 (or 0) uses all processors; small inputs
/// stay on the calling thread. Every sum has a fixed order, the same for every vector width (128, 256 or 512 bits, or
/// none), so results are the same bits on every machine. The methods are safe to call concurrently on disjoint buffers.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// var layout = BatchNormLayout.FromShape([32, 64, 56, 56]);
/// double[] mean = new double[64], variance = new double[64], invStd = new double[64];
/// BatchNormKernels.ForwardTraining&lt;float&gt;(x, y, layout, weight, bias, 1e-5, mean, variance, invStd);
/// BatchNormKernels.UpdateRunningStatistics&lt;float&gt;(runningMean, runningVariance, mean, variance, layout.ValuesPerChannel, 0.1);
/// BatchNormKernels.BackwardTraining&lt;float&gt;(x, dy, dx, layout, weight, mean, invStd, weightGradient, biasGradient);
/// </code>
/// </example>
public static partial class BatchNormKernels
{
    /// <summary>The most channels one chunk takes, and the length of its per-channel scratch buffers.</summary>
    private const int MaxBlock = 64;

    /// <summary>Runs shorter than this many bytes take the column path (<see cref="ColumnOps"/>).</summary>
    private const int ColumnRunBytes = 64;

    /// <summary>The most elements a column-path chunk spans per sample: the length of its per-element buffers.</summary>
    private const int ColumnSegment = 512;

    /// <summary>Runs of at least this many bytes fuse a chunk's passes (see <see cref="FusesPasses{T}"/>).</summary>
    private const long FusedRunBytes = 4096;

    /// <summary>
    /// The bytes of each tensor a fused chunk's channels span: small enough that its second pass finds them in the
    /// last-level cache, large enough that each sample's part of the chunk streams.
    /// </summary>
    private const long FusedChunkBytes = 2L << 20;

    /// <summary>The contiguous bytes per sample a chunk of a reduction pass aims for, so that its reads stream.</summary>
    private const long StreamBytes = 16 * 1024;

    /// <summary>The bytes an element-pass chunk aims for (see <see cref="ElementPartition{T}"/>).</summary>
    private const long ChunkBytes = 256 * 1024;

    /// <summary>
    /// Whether a layout's runs are short enough for the column path: each sample's part of a chunk, its channels' runs
    /// side by side, is then one contiguous segment walked row by row with per-element constants, rather than many
    /// short runs each paying a loop's set-up.
    /// </summary>
    private static bool UsesColumns<T>(BatchNormLayout layout) =>
        layout.SpatialSize >= 1 && (long)layout.SpatialSize * Unsafe.SizeOf<T>() < ColumnRunBytes;

    /// <summary>perElement[j * s + e] = perChannel[j] for the <paramref name="width"/> channels of a column-path chunk.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Expand<TValue>(TValue* perChannel, int width, int s, TValue* perElement)
        where TValue : unmanaged
    {
        for (int j = 0; j < width; j++)
        {
            new Span<TValue>(perElement + j * s, s).Fill(perChannel[j]);
        }
    }

    /// <summary>Σ perElement[j * s + e] over e, in order, for channel j of a column-path chunk.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe double SumRun(double* perElement, int j, int s)
    {
        double sum = 0;
        for (int e = 0; e < s; e++)
        {
            sum += perElement[j * s + e];
        }

        return sum;
    }

    /// <summary>
    /// Whether a pass that reads the data twice (statistics or sums, then the element pass) does both per chunk of
    /// channels, the second read from cache: only where a channel's runs are long enough to stream on their own. Otherwise
    /// the passes are separate and each walks memory in long contiguous pieces.
    /// </summary>
    private static bool FusesPasses<T>(BatchNormLayout layout) =>
        (long)layout.SpatialSize * Unsafe.SizeOf<T>() >= FusedRunBytes;

    /// <summary>
    /// The consecutive channels a chunk of a reduction pass takes: where the passes are fused, as many as span about
    /// <see cref="FusedChunkBytes"/> of each tensor (at least one); on the column path, as many as fill
    /// <see cref="ColumnSegment"/>; otherwise about <see cref="StreamBytes"/> per sample. The partition depends only on
    /// the layout, never on the thread count.
    /// </summary>
    private static int ChannelsPerChunk<T>(BatchNormLayout layout, bool fused)
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
    /// The chunks of a separate element pass, in memory order: blocks of channels by blocks of samples, about
    /// <see cref="ChunkBytes"/> each, so each sample's part of a chunk is one contiguous piece (a whole sample where it
    /// is small enough). An element pass has no reductions, so any partition gives the same results; this one depends
    /// only on the layout.
    /// </summary>
    private readonly struct ElementPartition<T>
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
            _width = UsesColumns<T>(layout) && layout.SpatialSize > 1
                ? Math.Clamp(ColumnSegment / layout.SpatialSize, 1, c)
                : (int)Math.Clamp(ChunkBytes / runBytes, 1, c);
            _rows = (int)Math.Clamp(ChunkBytes / (_width * runBytes), 1, Math.Max(layout.BatchSize, 1));
            _channelBlocks = (c + _width - 1) / _width;
            Count = layout.Length == 0 ? 0 : _channelBlocks * ((layout.BatchSize + _rows - 1) / _rows);
        }

        public int Count { get; }

        /// <summary>Chunk <paramref name="chunk"/>: samples n0 to n1 - 1 of channels c0 to c0 + width - 1.</summary>
        public (int N0, int N1, int C0, int Width) this[int chunk]
        {
            get
            {
                int n0 = chunk / _channelBlocks * _rows, c0 = chunk % _channelBlocks * _width;
                return (n0, Math.Min(n0 + _rows, _layout.BatchSize), c0, Math.Min(_width, _layout.Channels - c0));
            }
        }
    }

    /// <summary>
    /// The per-channel constants of a separate element pass: <c>arrays</c> arrays of <c>C</c> values of
    /// <typeparamref name="T"/> and of <see cref="double"/>, and <c>C</c> flags, rented from the shared pools (so a call
    /// allocates nothing once they hold arrays that large) and returned by <see cref="Dispose"/>.
    /// </summary>
    private readonly ref struct PooledConstants<T>
    {
        public readonly T[] Values;
        public readonly double[] WideValues;
        public readonly bool[] Exact;

        public PooledConstants(int arrays, int channels)
        {
            Values = ArrayPool<T>.Shared.Rent(arrays * channels);
            WideValues = ArrayPool<double>.Shared.Rent(arrays * channels);
            Exact = ArrayPool<bool>.Shared.Rent(channels);
        }

        public void Dispose()
        {
            ArrayPool<T>.Shared.Return(Values);
            ArrayPool<double>.Shared.Return(WideValues);
            ArrayPool<bool>.Shared.Return(Exact);
        }
    }

    /// <summary>The inverse standard deviation <c>1 / sqrt(variance + epsilon)</c>, and 0 where <c>variance + epsilon</c> is 0 (as PyTorch).</summary>
    /// <param name="variance">The (biased) variance.</param>
    /// <param name="epsilon">The value added to the variance.</param>
    /// <returns>The inverse standard deviation.</returns>
    /// <remarks>
    /// This method effectively computes <c>1 / sqrt(variance + epsilon)</c>; where <c>variance + epsilon</c> is exactly 0
    /// (a constant channel with <c>epsilon = 0</c>) it returns 0, as PyTorch does, so the channel normalizes to its bias.
    /// NaN propagates.
    /// </remarks>
    public static double InverseStandardDeviation(double variance, double epsilon)
    {
        double sum = variance + epsilon;
        return sum == 0 ? 0 : 1 / Math.Sqrt(sum);
    }

    private static void EnsureSupported<T>()
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
        {
            ThrowHelper.ThrowNotSupportedType(typeof(T));
        }
    }

    private static void CheckLength<T>(ReadOnlySpan<T> span, int expected, string paramName)
    {
        if (span.Length != expected)
        {
            ThrowHelper.ThrowLengthMismatch(paramName, expected, span.Length);
        }
    }

    private static void CheckOptionalLength<T>(ReadOnlySpan<T> span, int expected, string paramName)
    {
        if (!span.IsEmpty && span.Length != expected)
        {
            ThrowHelper.ThrowLengthMismatch(paramName, expected, span.Length);
        }
    }

    /// <summary>Throws unless <paramref name="destination"/> is exactly <paramref name="source"/> or disjoint from it.</summary>
    private static void CheckAliasing<TSource, TDestination>(
        ReadOnlySpan<TSource> source, ReadOnlySpan<TDestination> destination, string destinationName, string sourceName) =>
        CheckOverlap(source, destination, destinationName, sourceName, allowExact: true);

    /// <summary>Throws unless <paramref name="destination"/> and <paramref name="source"/> share no memory.</summary>
    private static void CheckDisjoint<TSource, TDestination>(
        ReadOnlySpan<TSource> source, ReadOnlySpan<TDestination> destination, string destinationName, string sourceName) =>
        CheckOverlap(source, destination, destinationName, sourceName, allowExact: false);

    /// <summary>Throws unless a span the kernel writes shares no memory with two others (of any element types).</summary>
    private static void CheckApart<TWritten, TFirst, TSecond>(
        ReadOnlySpan<TWritten> written, string writtenName, ReadOnlySpan<TFirst> first, string firstName, ReadOnlySpan<TSecond> second, string secondName)
    {
        CheckDisjoint(first, written, writtenName, firstName);
        CheckDisjoint(second, written, writtenName, secondName);
    }

    private static void CheckOverlap<TSource, TDestination>(
        ReadOnlySpan<TSource> source, ReadOnlySpan<TDestination> destination, string destinationName, string sourceName, bool allowExact)
    {
        if (source.IsEmpty || destination.IsEmpty)
        {
            return;
        }

        ref byte s = ref Unsafe.As<TSource, byte>(ref Unsafe.AsRef(in source[0]));
        ref byte d = ref Unsafe.As<TDestination, byte>(ref Unsafe.AsRef(in destination[0]));
        long sourceBytes = (long)source.Length * Unsafe.SizeOf<TSource>();
        long destinationBytes = (long)destination.Length * Unsafe.SizeOf<TDestination>();
        long offset = (long)Unsafe.ByteOffset(ref s, ref d);
        bool disjoint = offset >= sourceBytes || -offset >= destinationBytes;
        bool identical = offset == 0 && sourceBytes == destinationBytes && typeof(TSource) == typeof(TDestination);
        if (!disjoint && !(allowExact && identical))
        {
            if (allowExact)
            {
                ThrowHelper.ThrowPartialOverlap(destinationName, sourceName);
            }

            ThrowHelper.ThrowArgument(destinationName, $"'{destinationName}' must not share memory with '{sourceName}', but it does.");
        }
    }
}
