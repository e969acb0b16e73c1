using System;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>
/// The element passes of a float layer on 16-bit data with the conversions in registers: each vector of pairs of
/// 16-bit values widened to its even and odd elements (<see cref="ISixteenBitFormat{TData}.WidenPairs"/>), computed
/// as the float loops compute it (the same operations, so the same bits) and narrowed, with no staging buffer. Long runs
/// take each channel's constants; the column path's rows take per-element constants, each group's side by side and
/// deinterleaved as the pairs are (<see cref="SixteenBitColumns.Deinterleave{TValue}"/>). Blocks with a channel that
/// needs the wide form go through <see cref="Staging{T, TData}"/>.
/// </summary>
internal static unsafe class SixteenBitRuns
{
    /// <summary>
    /// The most side-by-side column constants kept on the stack (32 KB: C up to 2,730 for the normalize, 1,638 for the
    /// input gradient); more go to the thread's pinned scratch. Half's column loop read them 2.3–3.5× slower from the
    /// pinned array than from the stack on (802816, 128) and (65536, 1024) (4.6 against 1.3 cycles an element, one
    /// thread; BFloat16's loop the same either way), an effect of where they lie, not of how many there are.
    /// </summary>
    private const int StackConstants = 8192;

    /// <summary>
    /// Normalizes a block as <c>ForwardPass</c> does, with the epilogue of <typeparamref name="TMode"/> (plain or the
    /// fused ReLU), when it can here: a float layer, 16-bit data and every channel's constants exact in float; otherwise
    /// returns false and the caller stages.
    /// </summary>
    public static bool TryNormalize<T, TData, TMode>(TData* x, TData* y, BatchNormLayout layout, ElementBlock block, in ChannelConstants<T> k)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged
        where TMode : struct, IEpilogueMode =>
        TryApply<T, TData, NormalizeFormula<TMode>>(x, null, y, layout, block, k, NormalizeSlots.Forward);

    /// <summary>
    /// The input gradient of a block as <c>InputGradientPass</c> computes it, when it can here (as for
    /// <see cref="TryNormalize{T, TData, TMode}"/>): in training <c>dy * a + (((x - center) * invStd) * k + d)</c>; in
    /// evaluation <c>dy * a</c> on runs, <c>(dy - 0) * a + 0</c> on the column path, as the float loops compute it.
    /// </summary>
    public static bool TryInputGradient<T, TData>(TData* dy, TData* x, TData* dx, BatchNormLayout layout, ElementBlock block, in ChannelConstants<T> g, bool training)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged =>
        training ? TryApply<T, TData, InputGradientFormula>(dy, x, dx, layout, block, g, default)
        : KernelPlan.UsesColumns<T>(layout) ? TryApply<T, TData, NormalizeFormula<PlainMode>>(dy, null, dx, layout, block, g, NormalizeSlots.Evaluation)
        : TryApply<T, TData, ScaleFormula>(dy, null, dx, layout, block, g, default);

    private static bool TryApply<T, TData, TFormula>(TData* a, TData* b, TData* destination, BatchNormLayout layout, ElementBlock block, in ChannelConstants<T> k, NormalizeSlots slots)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged
        where TFormula : IPairFormula
    {
        bool applies = typeof(T) == typeof(float) && (typeof(TData) == typeof(Half) || typeof(TData) == typeof(BFloat16))
            && Vector.IsHardwareAccelerated && new ReadOnlySpan<bool>(k.Exact, block.Width).IndexOf(false) < 0;
        if (!applies)
        {
            return false;
        }

        ref readonly ChannelConstants<float> f = ref Unsafe.As<ChannelConstants<T>, ChannelConstants<float>>(ref Unsafe.AsRef(in k));
        if (typeof(TData) == typeof(Half))
        {
            Walk<Half, HalfBits, TFormula>((ushort*)a, (ushort*)b, (ushort*)destination, layout, block, f, slots);
        }
        else
        {
            Walk<BFloat16, BFloat16Bits, TFormula>((ushort*)a, (ushort*)b, (ushort*)destination, layout, block, f, slots);
        }

        return true;
    }

    /// <summary>Runs the formula over a block's runs, sample by sample, channel by channel; or over its rows on the column path.</summary>
    [SkipLocalsInit] // the column scratch is written before it is read
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Walk<TData, TFormat, TFormula>(ushort* a, ushort* b, ushort* destination, BatchNormLayout layout, ElementBlock block, in ChannelConstants<float> k, NormalizeSlots slots)
        where TData : unmanaged
        where TFormat : ISixteenBitFormat<TData>
        where TFormula : IPairFormula
    {
        (int n0, int n1, int c0, int width) = block;
        int s = layout.SpatialSize;
        long stride = (long)layout.Channels * s, first = (n0 * stride) + ((long)c0 * s);
        a += first;
        b = b == null ? null : b + first;
        destination += first;
        if (!KernelPlan.UsesColumns<float>(layout))
        {
            for (int i = 0; i < n1 - n0; i++)
            {
                for (int j = 0; j < width; j++)
                {
                    long at = (i * stride) + ((long)j * s);
                    Run<TData, TFormat, TFormula>(a + at, b == null ? null : b + at, destination + at, s, Constants<TFormula>(k, slots, j));
                }
            }

            return;
        }

        // Per-element constants of the segment (for S = 1 the channels' own, as many as C). Each whole group of columns
        // gets its constants side by side in the thread's scratch, deinterleaved as the pairs of a row are (a constant's
        // even columns, then its odd ones), so a row walks them with one pointer and constant offsets; the columns past
        // the last group take theirs from the per-element arrays.
        int segment = width * s, group = Vector<ushort>.Count, end = segment - segment % group;
        Unsafe.SkipInit(out SegmentScratch<float> scratch);
        ChannelConstants<float> e = k.PerElement(width, s, ref scratch);
        long count = (long)TFormula.Constants * end;
        float* columns;
        if (count <= StackConstants)
        {
            float* onStack = stackalloc float[(int)count];
            columns = onStack;
        }
        else
        {
            columns = PinnedScratch.Get<float>(PinnedScratch.DeinterleavedColumns, count);
        }

        for (int g = 0; g < end; g += group)
        {
            for (int c = 0; c < TFormula.Constants; c++)
            {
                SixteenBitColumns.Deinterleave(e.Values(Slot<TFormula>(slots, c)) + g, columns + ((long)g * TFormula.Constants) + (c * group), group);
            }
        }

        for (int r = 0; r < n1 - n0; r++)
        {
            long at = r * stride;
            Row<TData, TFormat, TFormula>(a + at, b == null ? null : b + at, destination + at, end, columns);
            for (int j = end; j < segment; j++)
            {
                destination[at + j] = Scalar<TData, TFormat, TFormula>(
                    a[at + j], TFormula.ReadsB ? b[at + j] : a[at + j], Tail<TFormula>(e, slots, 0, j), Tail<TFormula>(e, slots, 1, j),
                    Tail<TFormula>(e, slots, 2, j), Tail<TFormula>(e, slots, 3, j), Tail<TFormula>(e, slots, 4, j));
            }
        }
    }

    /// <summary>One run: its vectors of pairs with the channel's constants, then the tail element by element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Run<TData, TFormat, TFormula>(ushort* a, ushort* b, ushort* destination, int length, in ColumnConstants<float> c)
        where TData : unmanaged
        where TFormat : ISixteenBitFormat<TData>
        where TFormula : IPairFormula
    {
        int i = 0;
        for (; i <= length - Vector<ushort>.Count; i += Vector<ushort>.Count)
        {
            (Vector<float> ae, Vector<float> ao) = TFormat.WidenPairs(Vector.Load((uint*)(a + i)));
            (Vector<float> be, Vector<float> bo) = TFormula.ReadsB ? TFormat.WidenPairs(Vector.Load((uint*)(b + i))) : (ae, ao);
            Vector.Store(TFormat.NarrowPairs(TFormula.Apply(ae, be, c), TFormula.Apply(ao, bo, c)), (uint*)(destination + i));
        }

        for (; i < length; i++)
        {
            destination[i] = Scalar<TData, TFormat, TFormula>(a[i], TFormula.ReadsB ? b[i] : a[i], c.A[0], c.B[0], c.C[0], c.D[0], c.E[0]);
        }
    }

    /// <summary>
    /// The whole groups of columns of one row of a column-path segment (<paramref name="end"/> columns): each a vector of
    /// pairs, its even and odd columns' constants side by side at <paramref name="columns"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row<TData, TFormat, TFormula>(ushort* a, ushort* b, ushort* destination, int end, float* columns)
        where TData : unmanaged
        where TFormat : ISixteenBitFormat<TData>
        where TFormula : IPairFormula
    {
        int group = Vector<ushort>.Count;
        for (int j = 0; j < end; j += group, columns += group * TFormula.Constants)
        {
            (Vector<float> ae, Vector<float> ao) = TFormat.WidenPairs(Vector.Load((uint*)(a + j)));
            (Vector<float> be, Vector<float> bo) = TFormula.ReadsB ? TFormat.WidenPairs(Vector.Load((uint*)(b + j))) : (ae, ao);
            ColumnConstants<float> even = Load<TFormula>(columns), odd = Load<TFormula>(columns + Vector<float>.Count);
            Vector.Store(TFormat.NarrowPairs(TFormula.Apply(ae, be, even), TFormula.Apply(ao, bo, odd)), (uint*)(destination + j));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ushort Scalar<TData, TFormat, TFormula>(ushort a, ushort b, float k0, float k1, float k2, float k3, float k4)
        where TData : unmanaged
        where TFormat : ISixteenBitFormat<TData>
        where TFormula : IPairFormula
    {
        float result = TFormula.Apply(TFormat.ToSingle(Unsafe.BitCast<ushort, TData>(a)), TFormat.ToSingle(Unsafe.BitCast<ushort, TData>(b)), k0, k1, k2, k3, k4);
        return Unsafe.BitCast<TData, ushort>(TFormat.FromSingle(result));
    }

    /// <summary>The formula's constants of channel <paramref name="j"/>, each broadcast.</summary>
    private static ColumnConstants<float> Constants<TFormula>(in ChannelConstants<float> k, NormalizeSlots slots, int j)
        where TFormula : IPairFormula
    {
        Span<float> values = stackalloc float[ChannelConstants<float>.Count];
        values.Clear();
        for (int c = 0; c < TFormula.Constants; c++)
        {
            values[c] = k.Values(Slot<TFormula>(slots, c))[j];
        }

        return new() { A = new(values[0]), B = new(values[1]), C = new(values[2]), D = new(values[3]), E = new(values[4]) };
    }

    /// <summary>
    /// The formula's constants for one vector of columns, from a group's side-by-side constants (a constant's vectors a
    /// group of floats apart).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ColumnConstants<float> Load<TFormula>(float* columns)
        where TFormula : IPairFormula
    {
        int n = Vector<ushort>.Count;
        return new()
        {
            A = Vector.Load(columns),
            B = TFormula.Constants > 1 ? Vector.Load(columns + n) : default,
            C = TFormula.Constants > 2 ? Vector.Load(columns + (2 * n)) : default,
            D = TFormula.Constants > 3 ? Vector.Load(columns + (3 * n)) : default,
            E = TFormula.Constants > 4 ? Vector.Load(columns + (4 * n)) : default,
        };
    }

    /// <summary>The formula's constant <paramref name="c"/> of column <paramref name="j"/> of a segment's per-element arrays (0 past its last).</summary>
    private static float Tail<TFormula>(in ChannelConstants<float> e, NormalizeSlots slots, int c, int j)
        where TFormula : IPairFormula =>
        c < TFormula.Constants ? e.Values(Slot<TFormula>(slots, c))[j] : 0;

    /// <summary>The <see cref="ChannelConstants{T}"/> slot of the formula's constant <paramref name="c"/>.</summary>
    private static int Slot<TFormula>(NormalizeSlots slots, int c)
        where TFormula : IPairFormula =>
        TFormula.UsesNormalizeSlots ? c switch { 0 => slots.Center, 1 => slots.Scale, _ => slots.Shift } : c;

    /// <summary>An element formula of one or two float inputs and up to five constants (A to E), in vector and scalar form.</summary>
    private interface IPairFormula
    {
        /// <summary>How many constants it takes.</summary>
        static abstract int Constants { get; }

        /// <summary>Whether it reads a second tensor.</summary>
        static abstract bool ReadsB { get; }

        /// <summary>Whether its constants are a <see cref="NormalizeSlots"/>' center, scale and shift; else slots 0 to 4 in order.</summary>
        static abstract bool UsesNormalizeSlots { get; }

        static abstract Vector<float> Apply(Vector<float> a, Vector<float> b, in ColumnConstants<float> k);

        static abstract float Apply(float a, float b, float k0, float k1, float k2, float k3, float k4);
    }

    /// <summary>
    /// (x - center) * scale + shift, then the epilogue of <typeparamref name="TMode"/> without a residual (the value, or
    /// its ReLU), as <see cref="NormalizeOperator{T, TMode}"/> and <see cref="NormalizeColumns{T, TMode}"/>.
    /// </summary>
    private readonly struct NormalizeFormula<TMode> : IPairFormula
        where TMode : struct, IEpilogueMode
    {
        public static int Constants => 3;

        public static bool ReadsB => false;

        public static bool UsesNormalizeSlots => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector<float> Apply(Vector<float> x, Vector<float> unused, in ColumnConstants<float> k) =>
            default(Epilogue<float, TMode>).Apply((x - k.A) * k.B + k.C, 0);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Apply(float x, float unused, float center, float scale, float shift, float k3, float k4) =>
            default(Epilogue<float, TMode>).Apply((x - center) * scale + shift, 0);
    }

    /// <summary>dy * a + (((x - center) * invStd) * k + d) (<see cref="InputGradientCoefficients"/>), as <see cref="InputGradientOperator{T}"/>.</summary>
    private readonly struct InputGradientFormula : IPairFormula
    {
        public static int Constants => 5;

        public static bool ReadsB => true;

        public static bool UsesNormalizeSlots => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector<float> Apply(Vector<float> dy, Vector<float> x, in ColumnConstants<float> g) => dy * g.A + (((x - g.B) * g.C) * g.D + g.E);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Apply(float dy, float x, float a, float center, float invStd, float k, float d) => dy * a + (((x - center) * invStd) * k + d);
    }

    /// <summary>The evaluation input gradient of runs, dy * a (as <c>TensorPrimitives.Multiply</c> computes it for float data).</summary>
    private readonly struct ScaleFormula : IPairFormula
    {
        public static int Constants => 1;

        public static bool ReadsB => false;

        public static bool UsesNormalizeSlots => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector<float> Apply(Vector<float> dy, Vector<float> unused, in ColumnConstants<float> g) => dy * g.A;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Apply(float dy, float unused, float a, float k1, float k2, float k3, float k4) => dy * a;
    }
}
