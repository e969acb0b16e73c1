using System;

namespace BatchNorm;

/// <summary>
/// The view the kernels take of a contiguous tensor: <see cref="BatchSize"/> (outer count), <see cref="Channels"/> and
/// <see cref="SpatialSize"/> (inner count), laid out as <c>(N, C, S)</c> or, channels-last, as <c>(N, S, C)</c>.
/// </summary>
/// <remarks>
/// A PyTorch tensor of shape <c>(N, C, d1, …, dk)</c> maps to <c>N</c>, <c>C</c> and <c>S = d1 * … * dk</c>
/// (<c>S = 1</c> for <c>(N, C)</c>). Element <c>(n, c, s)</c> is at index <c>(n * C + c) * S + s</c>, or at
/// <c>(n * S + s) * C + c</c> when <see cref="MemoryFormat"/> is <see cref="BatchNormMemoryFormat.ChannelsLast"/>.
/// Each channel holds <see cref="ValuesPerChannel"/> = <c>N * S</c> values.
/// </remarks>
/// <example>
/// <code>
/// BatchNormLayout layout = BatchNormLayout.FromShape([8, 16, 32, 32]);   // (N=8, C=16, S=1024)
/// int index = ((n * layout.Channels) + c) * layout.SpatialSize + s;      // element (n, c, s)
/// BatchNormKernels.ComputeStatistics&lt;float&gt;(x, layout, mean, variance, maxDegreeOfParallelism: -1);
/// </code>
/// </example>
public readonly struct BatchNormLayout : IEquatable<BatchNormLayout>
{
    /// <summary>Creates the layout <c>(batchSize, channels, spatialSize)</c>.</summary>
    /// <param name="batchSize">The outer count <c>N</c>; zero or more.</param>
    /// <param name="channels">The channel count <c>C</c>; one or more.</param>
    /// <param name="spatialSize">The inner count <c>S</c>; zero or more.</param>
    /// <exception cref="ArgumentOutOfRangeException">A count is negative, <paramref name="channels"/> is zero, or <c>N * C * S</c> exceeds <see cref="int.MaxValue"/>.</exception>
    /// <remarks>
    /// A constructed layout always has <c>C &gt;= 1</c> and <c>N * C * S &lt;= int.MaxValue</c>; only
    /// <c>default(BatchNormLayout)</c> is <c>(0, 0, 0)</c>.
    /// </remarks>
    public BatchNormLayout(int batchSize, int channels, int spatialSize)
        : this(batchSize, channels, spatialSize, BatchNormMemoryFormat.ChannelsFirst)
    {
    }

    /// <summary>Creates the layout <c>(batchSize, channels, spatialSize)</c> in the memory format <paramref name="memoryFormat"/>.</summary>
    /// <param name="batchSize">The outer count <c>N</c>; zero or more.</param>
    /// <param name="channels">The channel count <c>C</c>; one or more.</param>
    /// <param name="spatialSize">The inner count <c>S</c>; zero or more.</param>
    /// <param name="memoryFormat">Where element <c>(n, c, s)</c> lies: channels-first <c>(N, C, S)</c> or channels-last <c>(N, S, C)</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A count is negative, <paramref name="channels"/> is zero, <c>N * C * S</c> exceeds <see cref="int.MaxValue"/>, or <paramref name="memoryFormat"/> is not a defined value.</exception>
    /// <remarks>The counts are checked as by <see cref="BatchNormLayout(int, int, int)"/>.</remarks>
    public BatchNormLayout(int batchSize, int channels, int spatialSize, BatchNormMemoryFormat memoryFormat)
    {
        if (memoryFormat is not (BatchNormMemoryFormat.ChannelsFirst or BatchNormMemoryFormat.ChannelsLast))
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(memoryFormat), memoryFormat, "Expected ChannelsFirst or ChannelsLast.");
        }

        if (batchSize < 0)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(batchSize), batchSize, "Expected a batch size of zero or more.");
        }

        if (channels <= 0)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(channels), channels, "Expected one or more channels.");
        }

        if (spatialSize < 0)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(spatialSize), spatialSize, "Expected a spatial size of zero or more.");
        }

        if ((long)batchSize * channels * spatialSize > int.MaxValue)
        {
            ThrowHelper.ThrowArgumentOutOfRange(
                nameof(batchSize),
                batchSize,
                $"The element count {batchSize} * {channels} * {spatialSize} exceeds int.MaxValue.");
        }

        BatchSize = batchSize;
        Channels = channels;
        SpatialSize = spatialSize;
        MemoryFormat = memoryFormat;
    }

    /// <summary>The outer count <c>N</c>.</summary>
    /// <remarks>PyTorch: <c>shape[0]</c>, the batch size; zero or more.</remarks>
    public int BatchSize { get; }

    /// <summary>The channel count <c>C</c>.</summary>
    /// <remarks>PyTorch: <c>shape[1]</c>, a layer's <c>num_features</c>.</remarks>
    public int Channels { get; }

    /// <summary>The inner (spatial) count <c>S</c>.</summary>
    /// <remarks>The product of the dimensions after the channel one: 1 for <c>(N, C)</c>, 0 when one of them is 0.</remarks>
    public int SpatialSize { get; }

    /// <summary>Where element <c>(n, c, s)</c> lies: channels-first <c>(N, C, S)</c> (the default) or channels-last <c>(N, S, C)</c>.</summary>
    /// <remarks>PyTorch: <c>torch.contiguous_format</c> or <c>torch.channels_last</c> (<c>channels_last_3d</c>).</remarks>
    public BatchNormMemoryFormat MemoryFormat { get; }

    /// <summary>
    /// The channels-first layout of the same bytes, which the engine walks: the layout itself, or for channels-last data
    /// the <c>(N * S, C)</c> rows it is (every statistic is over the same <c>N * S</c> values per channel).
    /// </summary>
    internal BatchNormLayout Storage =>
        MemoryFormat == BatchNormMemoryFormat.ChannelsLast ? new BatchNormLayout(BatchSize * SpatialSize, Channels, 1) : this;

    /// <summary>The channel of the element at <paramref name="index"/>.</summary>
    internal int ChannelOf(int index) => Storage.SpatialSize == 0 ? 0 : index / Storage.SpatialSize % Channels;

    /// <summary>The number of values in each channel, <c>N * S</c>.</summary>
    /// <remarks>
    /// This property effectively computes <c>N * S</c>, the count <c>M</c> that batch statistics are taken over (the
    /// unbiased variance needs <c>M &gt;= 2</c>); it cannot overflow, since the constructor bounds <c>N * C * S</c>.
    /// </remarks>
    public int ValuesPerChannel => BatchSize * SpatialSize;

    /// <summary>The number of elements, <c>N * C * S</c>.</summary>
    /// <remarks>This property effectively computes <c>N * C * S</c>, at most <see cref="int.MaxValue"/>: the length every tensor span of this layout must have.</remarks>
    public int Length => BatchSize * Channels * SpatialSize;

    /// <summary>Maps a PyTorch-style shape <c>(N, C, d1, …, dk)</c> to its layout.</summary>
    /// <param name="shape">The shape; rank 2 or more.</param>
    /// <returns>The layout <c>(N, C, d1 * … * dk)</c>.</returns>
    /// <exception cref="ArgumentException">The rank is below 2, a dimension is negative, the channel count is zero, or the element count exceeds <see cref="int.MaxValue"/>.</exception>
    /// <remarks>
    /// This method effectively computes <c>(shape[0], shape[1], shape[2] * … * shape[k + 1])</c>, with an empty product
    /// of 1. The products saturate rather than wrap, so an oversized shape is reported, never misread. Any rank of 2 or
    /// more is accepted here; the layers restrict it.
    /// </remarks>
    public static BatchNormLayout FromShape(ReadOnlySpan<int> shape) => FromShape(shape, BatchNormMemoryFormat.ChannelsFirst);

    /// <summary>Maps a PyTorch-style shape <c>(N, C, d1, …, dk)</c> of data in <paramref name="memoryFormat"/> to its layout.</summary>
    /// <param name="shape">The logical shape <c>(N, C, d1, …, dk)</c>, whatever the memory format; rank 2 or more.</param>
    /// <param name="memoryFormat">Where element <c>(n, c, s)</c> lies: channels-first, or channels-last <c>(N, d1, …, dk, C)</c>.</param>
    /// <returns>The layout <c>(N, C, d1 * … * dk)</c> in <paramref name="memoryFormat"/>.</returns>
    /// <exception cref="ArgumentException">As for <see cref="FromShape(ReadOnlySpan{int})"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="memoryFormat"/> is not a defined value.</exception>
    /// <remarks>
    /// PyTorch: the logical <c>x.shape</c> of a tensor with <c>x.is_contiguous(memory_format=torch.channels_last)</c>.
    /// </remarks>
    public static BatchNormLayout FromShape(ReadOnlySpan<int> shape, BatchNormMemoryFormat memoryFormat)
    {
        if (shape.Length < 2)
        {
            ThrowHelper.ThrowArgument(nameof(shape), $"Expected a shape of rank 2 or more (N, C, ...), but got rank {shape.Length}.");
        }

        long total = 1;
        long spatial = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] < 0)
            {
                ThrowHelper.ThrowArgument(nameof(shape), $"Expected non-negative dimensions, but dimension {i} is {shape[i]} in {Format(shape)}.");
            }

            // Saturate so a long product of large dimensions cannot wrap around.
            total = Math.Min(total * shape[i], (long)int.MaxValue + 1);
            if (i >= 2)
            {
                spatial = Math.Min(spatial * shape[i], (long)int.MaxValue + 1);
            }
        }

        if (shape[1] == 0)
        {
            ThrowHelper.ThrowArgument(nameof(shape), $"Expected one or more channels, but dimension 1 is 0 in {Format(shape)}.");
        }

        if (total > int.MaxValue || spatial > int.MaxValue)
        {
            ThrowHelper.ThrowArgument(nameof(shape), $"The element count of {Format(shape)} exceeds int.MaxValue.");
        }

        return new BatchNormLayout(shape[0], shape[1], (int)spatial, memoryFormat);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Compares the three counts and the memory format, so shapes that flatten alike, such as <c>(2, 3, 4, 5)</c> and
    /// <c>(2, 3, 20)</c>, give equal layouts.
    /// </remarks>
    public bool Equals(BatchNormLayout other) =>
        BatchSize == other.BatchSize && Channels == other.Channels && SpatialSize == other.SpatialSize && MemoryFormat == other.MemoryFormat;

    /// <inheritdoc/>
    /// <remarks><see langword="true"/> only for a boxed <see cref="BatchNormLayout"/> with the same three counts and memory format.</remarks>
    public override bool Equals(object? obj) => obj is BatchNormLayout other && Equals(other);

    /// <inheritdoc/>
    /// <remarks>Combines the three counts and the format (<see cref="HashCode.Combine{T1, T2, T3, T4}"/>); consistent with <see cref="Equals(BatchNormLayout)"/>, and not stable across processes.</remarks>
    public override int GetHashCode() => HashCode.Combine(BatchSize, Channels, SpatialSize, MemoryFormat);

    /// <inheritdoc/>
    /// <remarks>For example <c>(N=8, C=16, S=1024)</c>, or <c>(N=8, C=16, S=1024, channels-last)</c>; meant for messages and debugging, not for parsing.</remarks>
    public override string ToString() =>
        $"(N={BatchSize}, C={Channels}, S={SpatialSize}{(MemoryFormat == BatchNormMemoryFormat.ChannelsLast ? ", channels-last" : "")})";

    /// <summary>Whether two layouts are equal.</summary>
    /// <param name="left">The first layout.</param>
    /// <param name="right">The second layout.</param>
    /// <returns><see langword="true"/> when all three counts and the memory formats are equal.</returns>
    /// <remarks>The same as <see cref="Equals(BatchNormLayout)"/>.</remarks>
    public static bool operator ==(BatchNormLayout left, BatchNormLayout right) => left.Equals(right);

    /// <summary>Whether two layouts differ.</summary>
    /// <param name="left">The first layout.</param>
    /// <param name="right">The second layout.</param>
    /// <returns><see langword="true"/> when any count or the memory format differs.</returns>
    /// <remarks>The negation of <see cref="Equals(BatchNormLayout)"/>.</remarks>
    public static bool operator !=(BatchNormLayout left, BatchNormLayout right) => !left.Equals(right);

    internal static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";
}
