using System;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>
/// The forward pass: per chunk of channels, the statistics (batch, running or given) and either the normalize pass of
/// the chunk (fused, the second read from cache, where runs are long enough to stream: <see cref="KernelPlan.FusesPasses{T}"/>)
/// or every channel's constants for a separate element pass in memory order (<see cref="ElementPartition{T}"/>).
/// </summary>
internal static unsafe class ForwardPass
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<T, TData>(in ForwardRequest<T, TData> request, int maxDegreeOfParallelism)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged
    {
        BatchNormLayout layout = request.Layout.Storage; // channels-last data are (N·S, C) rows
        bool batch = request.Statistics == StatisticsSource.Batch;
        bool given = request.Statistics == StatisticsSource.Given;
        bool fused = !request.Output.IsEmpty && batch && KernelPlan.FusesPasses<T>(layout);
        fixed (TData* x = request.Input, y = request.Output)
        fixed (T* w = request.Weight, b = request.Bias, rm = request.RunningMean, rv = request.RunningVariance)
        fixed (double* m = request.Mean, v = request.Variance, s = request.InverseStd, gm = request.GivenMean, gs = request.GivenInverseStd, rd = request.Renormalization)
        fixed (TData* residual = request.Residual)
        fixed (bool* flags = request.ExactFlags)
        {
            EpilogueKind kind = FusedTail<TData>.KindOf(request.Activation, !request.Residual.IsEmpty, gradient: false);
            var body = new StatisticsChunk<T, TData>
            {
                X = x,
                Y = request.Output.IsEmpty ? null : y,
                Parameters = new NormalizeParameters<T>
                {
                    Weight = w, Bias = b, Corrections = request.Renormalization.IsEmpty ? null : rd, Channels = layout.Channels,
                    Flags = flags,
                },
                RunningMean = rm,
                RunningVariance = rv,
                Mean = given ? gm : m,
                Variance = v,
                InverseStd = given ? gs : s,
                Epsilon = request.Epsilon,
                RMax = request.RMax,
                DMax = request.DMax,
                Layout = layout,
                Block = KernelPlan.ChannelsPerChunk<T>(layout, fused),
                Source = request.Statistics,
                Tail = new FusedTail<TData>(kind, residual, null),
            };
            int chunks = (layout.Channels + body.Block - 1) / body.Block;
            int rowBlocks = batch ? KernelPlan.RowBlocks<T>(layout) : 0;
            if (rowBlocks > 0)
            {
                double* shift = PinnedScratch.Get<double>(PinnedScratch.ChannelValues, layout.Channels);
                for (int c = 0; c < layout.Channels; c++)
                {
                    shift[c] = ElementConversions.ToDouble(x[(long)c * layout.SpatialSize]);
                }

                body.Blocks = ColumnBlocks.Reduce<T, TData, ShiftedSquares>(x, x, layout, rowBlocks, shift, maxDegreeOfParallelism);
            }

            // The first pass reads the whole tensor only for batch statistics not yet reduced in row blocks.
            long work = batch && rowBlocks == 0 ? layout.Length : layout.Channels;
            if (fused || request.Output.IsEmpty)
            {
                ParallelChunks.Run(body, chunks, work, maxDegreeOfParallelism);
                return;
            }

            body.Constants = ChannelConstants<T>.ForEveryChannel(layout.Channels);
            ParallelChunks.Run(body, chunks, work, maxDegreeOfParallelism);
            var pass = new NormalizeChunk<T, TData> { X = x, Y = y, Layout = layout, Constants = body.Constants, Partition = new ElementPartition<T>(layout), Tail = body.Tail };
            ParallelChunks.Run(pass, pass.Partition.Count, layout.Length, maxDegreeOfParallelism);
        }
    }

    /// <summary>
    /// Normalizes <paramref name="block"/>, with constants <paramref name="k"/> indexed from its first channel, then
    /// applies the <paramref name="tail"/>'s epilogue (its tensors indexed as x): run by run, or (for short runs) row by
    /// row over the block's contiguous segment with per-element constants.
    /// </summary>
    [SkipLocalsInit] // the column scratch is written before it is read, and only where S > 1
    private static void NormalizeBlock<T, TMode>(T* x, T* y, BatchNormLayout layout, ElementBlock block, in ChannelConstants<T> k, Epilogue<T, TMode> tail)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TMode : struct, IEpilogueMode
    {
        (int n0, int n1, int c0, int width) = block;
        int s = layout.SpatialSize;
        long stride = (long)layout.Channels * s;
        long first = n0 * stride + (long)c0 * s;
        x += first;
        y += first;
        tail = tail.At(first);
        if (!KernelPlan.UsesColumns<T>(layout))
        {
            T* center = k.Values(NormalizeCoefficients.Center), scale = k.Values(NormalizeCoefficients.Scale), shift = k.Values(NormalizeCoefficients.Shift);
            double* mean = k.Wide(NormalizeCoefficients.Center), wideScale = k.Wide(NormalizeCoefficients.Scale), bias = k.Wide(NormalizeCoefficients.Shift);
            for (int i = 0; i < n1 - n0; i++)
            {
                for (int j = 0; j < width; j++)
                {
                    long at = i * stride + j * s;
                    if (k.Exact[j])
                    {
                        RunDriver.Apply(new NormalizeOperator<T, TMode>(x + at, center[j], scale[j], shift[j], tail.At(at)), y + at, (nuint)s);
                    }
                    else
                    {
                        RunDriver.ApplyScalar(new WideNormalizeOperator<T, TMode>(x + at, mean[j], wideScale[j], bias[j], tail.At(at)), y + at, (nuint)s);
                    }
                }
            }

            return;
        }

        // The column loops take their constants per element; for S = 1 those are the channels' own.
        int segment = width * s;
        Unsafe.SkipInit(out SegmentScratch<T> scratch);
        ChannelConstants<T> e = k.PerElement(width, s, ref scratch);

        ColumnDriver.Normalize(x, y, new ColumnExtent(stride, n1 - n0, segment), e, NormalizeSlots.Forward, tail);
    }

    /// <summary>
    /// Normalizes a block of <typeparamref name="TData"/> data with the <paramref name="tail"/>'s epilogue: in registers
    /// where <see cref="SixteenBitRuns"/> can, else staged (directly for T data).
    /// </summary>
    public static void NormalizeData<T, TData>(TData* x, TData* y, BatchNormLayout layout, ElementBlock block, in ChannelConstants<T> k, FusedTail<TData> tail)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged
    {
        switch (tail.Kind)
        {
            case EpilogueKind.Plain when SixteenBitRuns.TryNormalize<T, TData, PlainMode>(x, y, layout, block, k):
                return;
            case EpilogueKind.Plain:
                Stage<T, TData, PlainMode>(x, y, layout, block, k, tail);
                return;
            case EpilogueKind.Relu when SixteenBitRuns.TryNormalize<T, TData, ReluMode>(x, y, layout, block, k):
                return;
            case EpilogueKind.Relu:
                Stage<T, TData, ReluMode>(x, y, layout, block, k, tail);
                return;
            case EpilogueKind.Add:
                Stage<T, TData, AddMode>(x, y, layout, block, k, tail);
                return;
            case EpilogueKind.AddRelu:
                Stage<T, TData, AddReluMode>(x, y, layout, block, k, tail);
                return;
            case EpilogueKind.ReluGradient:
                Stage<T, TData, ReluGradientMode>(x, y, layout, block, k, tail);
                return;
            default:
                Stage<T, TData, AddReluGradientMode>(x, y, layout, block, k, tail);
                return;
        }
    }

    private static void Stage<T, TData, TMode>(TData* x, TData* y, BatchNormLayout layout, ElementBlock block, in ChannelConstants<T> k, FusedTail<TData> tail)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged
        where TMode : struct, IEpilogueMode =>
        Staging<T, TData>.ForThread().ElementPass(default(NormalizePass<T, TMode>), x, tail.Residual, tail.GradOutput, y, layout, block, k);

    /// <summary><see cref="NormalizeBlock{T, TMode}"/> as a pass <see cref="Staging{T, TData}"/> can run on staged pieces: <c>b</c> the residual, <c>c</c> the gradient.</summary>
    private readonly struct NormalizePass<T, TMode> : IBlockPass<T>
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TMode : struct, IEpilogueMode
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(T* a, T* b, T* c, T* destination, BatchNormLayout layout, ElementBlock block, in ChannelConstants<T> k) =>
            NormalizeBlock(a, destination, layout, block, k, new Epilogue<T, TMode>(b, c));
    }

    /// <summary>The element pass of an unfused forward: one chunk of <see cref="ElementPartition{T}"/>.</summary>
    private struct NormalizeChunk<T, TData> : IChunkBody
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged
    {
        public TData* X;
        public TData* Y;
        public BatchNormLayout Layout;
        public ChannelConstants<T> Constants;
        public ElementPartition<T> Partition;
        public FusedTail<TData> Tail;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run(int chunk)
        {
            ElementBlock block = Partition[chunk];
            NormalizeData(X, Y, Layout, block, Constants.From(block.C0), Tail);
        }
    }

    /// <summary>
    /// One chunk of a forward's first pass, a block of consecutive channels: statistics (batch, running or given), then
    /// either the normalize pass of the block (fused) or the block's constants for the element pass. Long runs are walked
    /// sample by sample, channel by channel, in runs of <c>S</c> values (<see cref="RunReduction"/>); short ones
    /// (<c>S = 1</c> included) as contiguous segments row by row (<see cref="ColumnDriver"/>).
    /// </summary>
    private struct StatisticsChunk<T, TData> : IChunkBody
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged
    {
        public TData* X;
        public TData* Y;

        /// <summary>
        /// The weight, bias and flags; with batch statistics and renormalization (<see cref="NormalizeParameters{T}.Corrections"/>
        /// not null), each channel's r and d are computed into them, toward <see cref="RunningMean"/> and <see cref="RunningVariance"/>.
        /// </summary>
        public NormalizeParameters<T> Parameters;
        public T* RunningMean;
        public T* RunningVariance;
        public double* Mean;
        public double* Variance;
        public double* InverseStd;
        public double Epsilon;
        public BatchNormLayout Layout;
        public int Block;

        public double RMax;
        public double DMax;

        /// <summary>Where the statistics come from; for <see cref="StatisticsSource.Given"/>, <see cref="Mean"/> and <see cref="InverseStd"/> hold them.</summary>
        public StatisticsSource Source;

        /// <summary>Where the constants of every channel go for a separate element pass; empty when fused.</summary>
        public ChannelConstants<T> Constants;

        /// <summary>The column sums already reduced in row blocks, or empty (each chunk reduces its rows).</summary>
        public ColumnBlocks Blocks;

        /// <summary>The epilogue of the normalize pass.</summary>
        public FusedTail<TData> Tail;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run(int chunk)
        {
            int c0 = chunk * Block, width = Math.Min(Block, Layout.Channels - c0);
            double* mean = stackalloc double[KernelPlan.MaxBlock];
            double* invStd = stackalloc double[KernelPlan.MaxBlock];
            if (Source != StatisticsSource.Batch)
            {
                KnownStatistics(c0, width, mean, invStd);
            }
            else if (KernelPlan.UsesColumns<T>(Layout))
            {
                ColumnStatistics(c0, width, mean, invStd);
            }
            else
            {
                ChannelStatistics(c0, width, mean, invStd);
            }

            if (Y == null)
            {
                return;
            }

            if (!Constants.IsEmpty)
            {
                Coefficients(c0, width, mean, invStd, Constants.From(c0));
                return;
            }

            T* t = stackalloc T[ChannelConstants<T>.Count * KernelPlan.MaxBlock];
            double* d = stackalloc double[ChannelConstants<T>.Count * KernelPlan.MaxBlock];
            bool* exact = stackalloc bool[KernelPlan.MaxBlock];
            var k = new ChannelConstants<T>(t, d, exact, KernelPlan.MaxBlock);
            Coefficients(c0, width, mean, invStd, k);
            NormalizeData(X, Y, Layout, ElementBlock.AllSamples(Layout, c0, width), k, Tail);
        }

        private readonly void ChannelStatistics(int c0, int width, double* mean, double* invStd)
        {
            int s = Layout.SpatialSize, n = s == 0 ? 0 : Layout.BatchSize;
            long stride = (long)Layout.Channels * s;
            TData* x = X + (long)c0 * s;
            double* shift = stackalloc double[KernelPlan.MaxBlock];
            LaneSums* sums = stackalloc LaneSums[KernelPlan.MaxBlock];
            for (int j = 0; j < width; j++)
            {
                shift[j] = ElementConversions.ToDouble(x[j * s]);
                sums[j] = default;
            }

            Staging<T, TData> staging = Staging<T, TData>.ForThread();

            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < width; j++)
                {
                    TData* run = x + i * stride + j * s;
                    staging.AccumulateRun<ShiftedSquares>(run, run, s, shift[j], ref sums[j]);
                }
            }

            for (int j = 0; j < width; j++)
            {
                (mean[j], invStd[j]) = BatchStatistics(c0 + j, shift[j], sums[j].Total1, sums[j].Total2);
            }
        }

        private readonly void ColumnStatistics(int c0, int width, double* mean, double* invStd)
        {
            // Each element column accumulates about its channel's shift; a channel's columns are then added in order.
            int n = Layout.BatchSize, s = Layout.SpatialSize;
            long stride = (long)Layout.Channels * s;
            TData* x = X + (long)c0 * s;
            double* shift = stackalloc double[KernelPlan.MaxBlock];
            double* shiftE = stackalloc double[KernelPlan.ColumnSegment];
            double* sum = stackalloc double[KernelPlan.ColumnSegment];
            double* sumOfSquares = stackalloc double[KernelPlan.ColumnSegment];
            for (int j = 0; j < width; j++)
            {
                shift[j] = ElementConversions.ToDouble(x[j * s]);
            }

            if (Blocks.IsEmpty)
            {
                ChannelConstants<T>.Expand(shift, width, s, shiftE);
                var rows = new ColumnRows<TData>(x, x, stride, n, width * s);
                Staging<T, TData>.ForThread(rows.Width).AccumulateColumns<ShiftedSquares>(rows, shiftE, sum, sumOfSquares);
            }
            else
            {
                Blocks.Merge(c0 * s, width * s, sum, sumOfSquares);
            }

            for (int j = 0; j < width; j++)
            {
                (mean[j], invStd[j]) = BatchStatistics(c0 + j, shift[j], ColumnReduction.SumRun(sum, j, s), ColumnReduction.SumRun(sumOfSquares, j, s));
            }
        }

        /// <summary>The running statistics, or the given ones, of channels c0 to c0 + width - 1.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void KnownStatistics(int c0, int width, double* mean, double* invStd)
        {
            for (int j = 0; j < width; j++)
            {
                int c = c0 + j;
                (mean[j], invStd[j]) = Source == StatisticsSource.Running
                    ? (double.CreateTruncating(RunningMean[c]), BatchNormKernels.InverseStandardDeviation(double.CreateTruncating(RunningVariance[c]), Epsilon))
                    : (Mean[c], InverseStd[c]);
            }
        }

        /// <summary>Finishes channel c's statistics from its shifted sums and stores them.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly (double Mean, double InvStd) BatchStatistics(int c, double shift, double sum, double sumOfSquares)
        {
            double count = Layout.ValuesPerChannel;
            double d = sum / count;
            double mean = shift + d;
            double variance = Math.Max(sumOfSquares / count - d * d, 0);
            double invStd = BatchNormKernels.InverseStandardDeviation(variance, Epsilon);
            Mean[c] = mean;
            Variance[c] = variance;
            if (InverseStd != null)
            {
                InverseStd[c] = invStd;
            }

            return (mean, invStd);
        }

        /// <summary>The constants of channels c0 to c0 + width - 1, into k from its start (see <see cref="NormalizeCoefficients"/>).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void Coefficients(int c0, int width, double* mean, double* invStd, in ChannelConstants<T> k)
        {
            for (int j = 0; j < width; j++)
            {
                int c = c0 + j;
                if (Parameters.Corrections != null)
                {
                    (Parameters.Corrections[c], Parameters.Corrections[Layout.Channels + c]) = BatchRenormalization.Corrections(
                        mean[j], Variance[c], double.CreateTruncating(RunningMean[c]), double.CreateTruncating(RunningVariance[c]), Epsilon, RMax, DMax);
                }

                // Batch statistics bound every |x - mean| by sqrt(M * var); running or given ones bound nothing.
                double spread = Source == StatisticsSource.Batch ? Math.Sqrt(Layout.ValuesPerChannel * Variance[c]) : 0;
                Parameters.Store(k, j, c, mean[j], invStd[j], spread);
            }
        }
    }
}
