using System;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>
/// An element pass over one <see cref="ElementBlock"/> of dense <typeparamref name="T"/> tensors: <c>a</c> (and
/// <c>b</c>, <c>c</c> where not null) read, <c>destination</c> written, which may be the memory of <c>a</c>.
/// </summary>
internal unsafe interface IBlockPass<T>
    where T : unmanaged
{
    void Run(T* a, T* b, T* c, T* destination, BatchNormLayout layout, ElementBlock block, in ChannelConstants<T> k);
}

/// <summary>
/// The engine's loops on tensors of element type <typeparamref name="TData"/> for a layer of type
/// <typeparamref name="T"/>. Where the two are the same, every call goes straight to the loop. 16-bit data
/// (<see cref="Half"/>, <see cref="BFloat16"/>) are reduced without staging: runs by <see cref="SixteenBitReduction"/>,
/// rows by <see cref="SixteenBitColumns"/> where vectors are hardware-accelerated; the element passes try
/// <see cref="SixteenBitRuns"/> before they come here. Otherwise each call widens the data a piece at a time into
/// buffers of the calling thread (<see cref="PinnedScratch"/>), runs the <typeparamref name="T"/> loop on the piece, and
/// narrows what it wrote: each element is widened once and each output rounded once, and since the reductions take the
/// pieces in the order they take the data, every sum is the same bits as for <typeparamref name="T"/> data holding the
/// widened values. No copy of a whole tensor is made.
/// </summary>
internal readonly unsafe struct Staging<T, TData>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
    where TData : unmanaged
{
    /// <summary>
    /// The elements of a piece: 16 KB of float per tensor, so the two or three tensors of a pass stay in L1 and L2
    /// while a piece is converted, used and narrowed. A multiple of <see cref="VirtualLanes.Count"/>, so a run cut into
    /// pieces keeps every element in its lane.
    /// </summary>
    public const int PieceElements = 4096;

    private readonly T* _a;
    private readonly T* _b;
    private readonly T* _c;
    private readonly int _capacity;

    private Staging(T* a, T* b, T* c, int capacity)
    {
        _a = a;
        _b = b;
        _c = c;
        _capacity = capacity;
    }

    /// <summary>Whether the data are of the layer's own type (no staging).</summary>
    public static bool IsNative => typeof(T) == typeof(TData);

    /// <summary>
    /// The calling thread's buffers for pieces of <see cref="PieceElements"/> elements, or for column reductions of rows
    /// up to <paramref name="rowWidth"/> wide, a <see cref="KernelPlan.RowBlock"/> of rows at a time; none when
    /// <see cref="IsNative"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Staging<T, TData> ForThread(int rowWidth = 0)
    {
        if (IsNative)
        {
            return default;
        }

        int capacity = Math.Max(PieceElements, KernelPlan.RowBlock * rowWidth);
        return new Staging<T, TData>(
            PinnedScratch.Get<T>(PinnedScratch.StagedA, capacity), PinnedScratch.Get<T>(PinnedScratch.StagedB, capacity), PinnedScratch.Get<T>(PinnedScratch.StagedC, capacity), capacity);
    }

    /// <summary>
    /// <see cref="RunReduction.Accumulate{T, TSums}"/> over a run of <typeparamref name="TData"/>: 16-bit data widened in
    /// registers (<see cref="SixteenBitReduction"/>), other types staged.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AccumulateRun<TSums>(TData* a, TData* b, int length, double constant, ref LaneSums sums)
        where TSums : ITwoSums
    {
        if (IsNative)
        {
            RunReduction.Accumulate<T, TSums>((T*)a, (T*)b, length, constant, ref sums);
            return;
        }

        if (typeof(TData) == typeof(BFloat16))
        {
            SixteenBitReduction.Accumulate<BFloat16, BFloat16Bits, TSums>((BFloat16*)a, (BFloat16*)b, length, constant, ref sums);
            return;
        }

        if (typeof(TData) == typeof(Half))
        {
            SixteenBitReduction.Accumulate<Half, HalfBits, TSums>((Half*)a, (Half*)b, length, constant, ref sums);
            return;
        }

        for (int i = 0; i < length; i += PieceElements)
        {
            int count = Math.Min(PieceElements, length - i);
            Widen(a + i, _a, count, 1, 0);
            T* staged = b == a ? _a : Widen(b + i, _b, count, 1, 0);
            RunReduction.Accumulate<T, TSums>(_a, staged, count, constant, ref sums);
        }
    }

    /// <summary>
    /// <see cref="ColumnReduction.Accumulate{T, TSums}"/> over rows of <typeparamref name="TData"/> (16-bit data widened in
    /// registers by <see cref="SixteenBitColumns"/>); with a <paramref name="mask"/> (whose dz <c>rows.A</c> is), each
    /// group of rows masked just before it is read.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void AccumulateColumns<TSums>(in ColumnRows<TData> rows, double* constant, double* first, double* second, in GradientMask<T, TData> mask = default)
        where TSums : ITwoSums
    {
        if (IsNative && mask.IsEmpty)
        {
            ColumnReduction.Accumulate<T, TSums>(new ColumnRows<T>((T*)rows.A, (T*)rows.B, rows.Stride, rows.Count, rows.Width), constant, first, second);
            return;
        }

        int width = rows.Width;
        bool inRegisters = SixteenBitColumns.Applies<TData>();
        double* k = constant, f = first, s = second;
        if (inRegisters)
        {
            k = PinnedScratch.Get<double>(PinnedScratch.DeinterleavedColumns, 3L * width);
            f = k + width;
            s = f + width;
            SixteenBitColumns.Deinterleave(constant, k, width);
        }

        new Span<double>(f, width).Clear();
        new Span<double>(s, width).Clear();
        int group = Math.Max(1, (IsNative || inRegisters ? PieceElements : _capacity) / Math.Max(width, 1));
        for (int r = 0; r < rows.Count; r += group)
        {
            int count = Math.Min(group, rows.Count - r);
            if (!mask.IsEmpty)
            {
                mask.Rows(r, count);
            }

            ColumnRows<TData> part = rows.Slice(r, count);
            if (IsNative)
            {
                ColumnReduction.Add<T, TSums>(new ColumnRows<T>((T*)part.A, (T*)part.B, part.Stride, count, width), k, f, s);
            }
            else if (inRegisters)
            {
                SixteenBitColumns.Add<TData, TSums>(part, k, f, s);
            }
            else
            {
                Widen(part.A, _a, width, count, part.Stride);
                T* staged = rows.B == rows.A ? _a : Widen(part.B, _b, width, count, part.Stride);
                ColumnReduction.Add<T, TSums>(new ColumnRows<T>(_a, staged, width, count, width), k, f, s);
            }
        }

        if (inRegisters)
        {
            SixteenBitColumns.Interleave(f, first, width);
            SixteenBitColumns.Interleave(s, second, width);
        }
    }

    /// <summary>
    /// Runs <paramref name="pass"/> over <paramref name="block"/> of the <paramref name="layout"/> tensors at
    /// <paramref name="a"/>, <paramref name="b"/> and <paramref name="c"/> (each but a may be null) and
    /// <paramref name="destination"/>; staged, a piece at a time,
    /// each piece a dense tensor of its own: whole samples of the block's channels where they fit, else a sample's
    /// channels, else pieces of a run.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void ElementPass<TPass>(TPass pass, TData* a, TData* b, TData* c, TData* destination, BatchNormLayout layout, ElementBlock block, in ChannelConstants<T> k)
        where TPass : struct, IBlockPass<T>
    {
        if (IsNative)
        {
            pass.Run((T*)a, (T*)b, (T*)c, (T*)destination, layout, block, k);
            return;
        }

        int s = layout.SpatialSize;
        long stride = (long)layout.Channels * s, segment = (long)block.Width * s;
        int run = Math.Min(s, PieceElements);
        int channels = s > PieceElements ? 1 : Math.Min(block.Width, PieceElements / s);
        int samples = segment > PieceElements ? 1 : (int)(PieceElements / segment);
        for (int n = block.N0; n < block.N1; n += samples)
        {
            int rows = Math.Min(samples, block.N1 - n);
            for (int j = 0; j < block.Width; j += channels)
            {
                int width = Math.Min(channels, block.Width - j);
                for (int e = 0; e < s; e += run)
                {
                    int length = Math.Min(run, s - e);
                    long at = (n * stride) + ((long)(block.C0 + j) * s) + e;
                    Widen(a + at, _a, width * length, rows, stride);
                    T* stagedB = b == null ? null : Widen(b + at, _b, width * length, rows, stride);
                    T* stagedC = c == null ? null : Widen(c + at, _c, width * length, rows, stride);
                    var piece = new BatchNormLayout(rows, width, length);
                    pass.Run(_a, stagedB, stagedC, _a, piece, ElementBlock.AllSamples(piece, 0, width), k.From(j));
                    Narrow(destination + at, width * length, rows, stride);
                }
            }
        }
    }

    /// <summary>
    /// Widens <paramref name="rows"/> rows of <paramref name="length"/> elements, <paramref name="stride"/> apart, of
    /// <paramref name="source"/> into dense rows of <paramref name="buffer"/>, and returns it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static T* Widen(TData* source, T* buffer, int length, int rows, long stride)
    {
        for (int r = 0; r < rows; r++)
        {
            ElementConversions.Widen(source + (r * stride), buffer + (r * length), length);
        }

        return buffer;
    }

    /// <summary>Narrows the dense rows of buffer <c>a</c> into <paramref name="rows"/> rows, <paramref name="stride"/> apart, at <paramref name="destination"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Narrow(TData* destination, int length, int rows, long stride)
    {
        for (int r = 0; r < rows; r++)
        {
            ElementConversions.Narrow(_a + (r * length), destination + (r * stride), length);
        }
    }
}
