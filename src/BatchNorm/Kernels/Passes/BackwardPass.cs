using System;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>
/// The backward pass: per chunk of channels the two sums, the parameter gradients and the input-gradient constants,
/// then either the chunk's input gradient (fused, the second read from cache, where runs are long enough to stream:
/// <see cref="KernelPlan.FusesPasses{T}"/>) or, once every channel's constants are known, an element pass in memory
/// order (<see cref="ElementPartition{T}"/>).
/// </summary>
internal static unsafe class BackwardPass
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<T, TData>(in BackwardRequest<T, TData> request, int maxDegreeOfParallelism)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged
    {
        BatchNormLayout layout = request.Layout.Storage; // channels-last data are (N·S, C) rows
        bool given = request.Sums == SumsSource.Given;
        fixed (TData* x = request.Input, dy = request.GradOutput, dx = request.GradInput)
        fixed (T* w = request.Weight, rm = request.RunningMean, rv = request.RunningVariance)
        fixed (T* dw = request.WeightGradient, db = request.BiasGradient)
        fixed (double* m = request.Mean, s = request.InverseStd, sdy = request.SumDy, sdyx = request.SumDyX, gdy = request.GivenSumDy, gdyx = request.GivenSumDyX)
        fixed (double* xc = request.XHatCenter, xs = request.XHatInverseStd, ga = request.GradientScale, rd = request.Renormalization)
        fixed (TData* dz = request.MaskedGradient, residual = request.Residual)
        fixed (T* b = request.Bias)
        fixed (bool* flags = request.ExactFlags)
        {
            var body = new SumsChunk<T, TData>
            {
                X = x,
                Dy = dy,
                Dx = request.GradInput.IsEmpty ? null : dx,
                Weight = w,
                Mean = m,
                InverseStd = s,
                RunningMean = rm,
                RunningVariance = rv,
                Epsilon = request.Epsilon,
                WeightGradient = request.WeightGradient.IsEmpty ? null : dw,
                BiasGradient = request.BiasGradient.IsEmpty ? null : db,
                Layout = layout,
                SumDy = given ? gdy : sdy,
                SumDyX = given ? gdyx : sdyx,
                Source = request.Statistics,
                XHatCenter = request.XHatCenter.IsEmpty ? null : xc,
                XHatInverseStd = request.XHatCenter.IsEmpty ? null : xs,
                GradientScale = request.XHatCenter.IsEmpty ? null : ga,
                Sums = request.Sums,
                Count = request.Count,
                Corrections = request.Renormalization.IsEmpty ? null : rd,
            };
            if (request.Activation != BatchNormActivation.None)
            {
                // Each block of dy is masked into dz just before the sums read it back from cache (without sums, in a pass
                // of its own); dx is computed from dz.
                var parameters = new NormalizeParameters<T>
                {
                    Weight = w, Bias = b, Corrections = body.Corrections, Channels = layout.Channels, Flags = flags, ReadsFlags = true,
                };
                var tail = new FusedTail<TData>(FusedTail<TData>.KindOf(request.Activation, residual != null, gradient: true), residual, dy);
                body.Mask = new GradientMask<T, TData>(x, dz, tail, ForwardConstants(body, parameters), layout);
                if (!body.NeedsSums)
                {
                    var masking = new MaskChunk<T, TData> { Mask = body.Mask, Partition = new ElementPartition<T>(layout) };
                    ParallelChunks.Run(masking, masking.Partition.Count, 2 * layout.Length, maxDegreeOfParallelism);
                }
            }

            bool fused = body.Dx != null && body.NeedsSums && KernelPlan.FusesPasses<T>(layout);
            body.Block = KernelPlan.ChannelsPerChunk<T>(layout, fused);
            int chunks = (layout.Channels + body.Block - 1) / body.Block;
            int rowBlocks = body.NeedsSums ? KernelPlan.RowBlocks<T>(layout) : 0;
            if (rowBlocks > 0)
            {
                double* mean = PinnedScratch.Get<double>(PinnedScratch.ChannelValues, layout.Channels);
                for (int c = 0; c < layout.Channels; c++)
                {
                    mean[c] = body.Statistics(c).Mean;
                }

                body.Blocks = ColumnBlocks.Reduce<T, TData, GradientProducts>(body.Gradient, x, layout, rowBlocks, mean, maxDegreeOfParallelism, body.Mask);
            }

            long work = body.NeedsSums && rowBlocks == 0 ? 2 * layout.Length : layout.Channels;
            if (fused || body.Dx == null)
            {
                ParallelChunks.Run(body, chunks, work, maxDegreeOfParallelism);
                return;
            }

            body.Constants = ChannelConstants<T>.ForEveryChannel(layout.Channels);
            ParallelChunks.Run(body, chunks, work, maxDegreeOfParallelism);
            var pass = new InputGradientChunk<T, TData> { Body = body, Partition = new ElementPartition<T>(layout) };
            ParallelChunks.Run(pass, pass.Partition.Count, 2 * layout.Length, maxDegreeOfParallelism);
        }
    }

    /// <summary>The forward's normalize constants of every channel, as its statistics chunks computed them (with its saved flags).</summary>
    private static ChannelConstants<T> ForwardConstants<T, TData>(in SumsChunk<T, TData> body, in NormalizeParameters<T> parameters)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged
    {
        int channels = body.Layout.Channels;
        var k = ChannelConstants<T>.ForEveryChannel(channels, PinnedScratch.MaskConstants, PinnedScratch.WideMaskConstants);
        for (int c = 0; c < channels; c++)
        {
            (double mean, double invStd) = body.Statistics(c);
            parameters.Store(k, c, c, mean, invStd, spread: 0);
        }

        return k;
    }

    /// <summary>A backward's mask in a pass of its own (no sums to take it along): one chunk of <see cref="ElementPartition{T}"/>.</summary>
    private struct MaskChunk<T, TData> : IChunkBody
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged
    {
        public GradientMask<T, TData> Mask;
        public ElementPartition<T> Partition;

        public readonly void Run(int chunk) => Mask.Apply(Partition[chunk]);
    }

    /// <summary>The element pass of an unfused backward: one chunk of <see cref="ElementPartition{T}"/>.</summary>
    private struct InputGradientChunk<T, TData> : IChunkBody
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged
    {
        public SumsChunk<T, TData> Body;
        public ElementPartition<T> Partition;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run(int chunk)
        {
            ElementBlock block = Partition[chunk];
            Body.InputGradient(block, Body.Constants.From(block.C0));
        }
    }

    /// <summary>
    /// One chunk of a backward's first pass, a block of consecutive channels walked as in the forward pass: the two
    /// sums, the parameter gradients and the input-gradient constants, then (fused) the block's input-gradient pass.
    /// </summary>
    private struct SumsChunk<T, TData> : IChunkBody
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged
    {
        public TData* X;
        public TData* Dy;
        public TData* Dx;
        public T* Weight;
        public double* Mean;
        public double* InverseStd;
        public T* RunningMean;
        public T* RunningVariance;
        public double Epsilon;
        public T* WeightGradient;
        public T* BiasGradient;
        public BatchNormLayout Layout;
        public int Block;

        /// <summary>Per-channel Σdy and Σdy·(x - mean): outputs (may be null), or inputs when <see cref="Sums"/> is given.</summary>
        public double* SumDy;
        public double* SumDyX;

        /// <summary>Where the statistics come from: the forward's batch statistics, or the running ones (constants).</summary>
        public StatisticsSource Source;

        /// <summary>When not null, x̂ = (x - XHatCenter) * XHatInverseStd (x being the forward's output) and dx's scale is GradientScale.</summary>
        public double* XHatCenter;
        public double* XHatInverseStd;
        public double* GradientScale;

        /// <summary>When not null, the r and d of a renormalized forward (<see cref="BackwardRequest{T, TData}.Renormalization"/>).</summary>
        public double* Corrections;

        /// <summary>Whether the sums are computed or given (over <see cref="Count"/> values, say across replicas).</summary>
        public SumsSource Sums;
        public double Count;

        /// <summary>Where the constants of every channel go for a separate element pass; empty when fused.</summary>
        public ChannelConstants<T> Constants;

        /// <summary>The column sums already reduced in row blocks, or empty (each chunk reduces its rows).</summary>
        public ColumnBlocks Blocks;

        /// <summary>When not empty, each block of dy is masked into its dz before the sums read it, and the input gradient reads dz.</summary>
        public GradientMask<T, TData> Mask;

        /// <summary>The gradient the sums and the input gradient read: the masked one, or dy.</summary>
        public readonly TData* Gradient => Mask.IsEmpty ? Dy : Mask.Dz;

        public readonly bool NeedsSums => Sums == SumsSource.Computed && (Training || WeightGradient != null || BiasGradient != null || SumDy != null);

        private readonly bool Training => Source == StatisticsSource.Batch;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run(int chunk)
        {
            int c0 = chunk * Block, width = Math.Min(Block, Layout.Channels - c0);
            double* mean = stackalloc double[KernelPlan.MaxBlock];
            double* invStd = stackalloc double[KernelPlan.MaxBlock];
            double* sumDy = stackalloc double[KernelPlan.MaxBlock];
            double* sumDyX = stackalloc double[KernelPlan.MaxBlock];
            for (int j = 0; j < width; j++)
            {
                (mean[j], invStd[j]) = Statistics(c0 + j);
                sumDy[j] = sumDyX[j] = 0;
            }

            if (NeedsSums)
            {
                if (KernelPlan.UsesColumns<T>(Layout))
                {
                    ColumnSums(c0, width, mean, sumDy, sumDyX);
                }
                else
                {
                    ChannelSums(c0, width, mean, sumDy, sumDyX);
                }
            }

            ChannelConstants<T> g;
            if (Constants.IsEmpty)
            {
                T* t = stackalloc T[ChannelConstants<T>.Count * KernelPlan.MaxBlock];
                double* d = stackalloc double[ChannelConstants<T>.Count * KernelPlan.MaxBlock];
                bool* exact = stackalloc bool[KernelPlan.MaxBlock];
                g = new ChannelConstants<T>(t, d, exact, KernelPlan.MaxBlock);
            }
            else
            {
                g = Constants.From(c0);
            }

            for (int j = 0; j < width; j++)
            {
                (double dySum, double dyxSum) = TakeSums(c0 + j, sumDy[j], sumDyX[j]);
                Finish(c0 + j, mean[j], invStd[j], dySum, dyxSum, g, j);
            }

            if (Dx != null && Constants.IsEmpty)
            {
                InputGradient(ElementBlock.AllSamples(Layout, c0, width), g);
            }
        }

        /// <summary>
        /// The input gradient of <paramref name="block"/>, with constants <paramref name="g"/> indexed from its first
        /// channel (<see cref="SixteenBitRuns"/> or <see cref="InputGradientPass{T}"/>); in evaluation <c>x</c> is not read.
        /// </summary>
        public readonly void InputGradient(ElementBlock block, in ChannelConstants<T> g)
        {
            TData* dy = Gradient;
            if (!SixteenBitRuns.TryInputGradient(dy, X, Dx, Layout, block, g, Training))
            {
                Staging<T, TData>.ForThread().ElementPass(new InputGradientPass<T>(Training), dy, Training ? X : null, null, Dx, Layout, block, g);
            }
        }

        /// <summary>The sums of a block run by run; with a <see cref="Mask"/>, each run masked first.</summary>
        private readonly void ChannelSums(int c0, int width, double* mean, double* sumDy, double* sumDyX)
        {
            int s = Layout.SpatialSize, n = s == 0 ? 0 : Layout.BatchSize;
            long stride = (long)Layout.Channels * s;
            long first = (long)c0 * s;
            LaneSums* sums = stackalloc LaneSums[KernelPlan.MaxBlock];
            new Span<LaneSums>(sums, width).Clear();
            Staging<T, TData> staging = Staging<T, TData>.ForThread();
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < width; j++)
                {
                    long at = first + i * stride + j * s;
                    if (!Mask.IsEmpty)
                    {
                        Mask.Apply(new ElementBlock(i, i + 1, c0 + j, 1));
                    }

                    staging.AccumulateRun<GradientProducts>(Gradient + at, X + at, s, mean[j], ref sums[j]);
                }
            }

            for (int j = 0; j < width; j++)
            {
                sumDy[j] = sums[j].Total1;
                sumDyX[j] = sums[j].Total2;
            }
        }

        private readonly void ColumnSums(int c0, int width, double* mean, double* sumDy, double* sumDyX)
        {
            int s = Layout.SpatialSize;
            long stride = (long)Layout.Channels * s;
            long first = (long)c0 * s;
            double* meanE = stackalloc double[KernelPlan.ColumnSegment];
            double* sumDyE = stackalloc double[KernelPlan.ColumnSegment];
            double* sumDyXE = stackalloc double[KernelPlan.ColumnSegment];
            if (Blocks.IsEmpty)
            {
                ChannelConstants<T>.Expand(mean, width, s, meanE);
                var rows = new ColumnRows<TData>(Gradient + first, X + first, stride, Layout.BatchSize, width * s);
                GradientMask<T, TData> mask = Mask.IsEmpty ? default : Mask.Region(0, c0, width);
                Staging<T, TData>.ForThread(rows.Width).AccumulateColumns<GradientProducts>(rows, meanE, sumDyE, sumDyXE, mask);
            }
            else
            {
                Blocks.Merge(c0 * s, width * s, sumDyE, sumDyXE);
            }

            for (int j = 0; j < width; j++)
            {
                sumDy[j] = ColumnReduction.SumRun(sumDyE, j, s);
                sumDyX[j] = ColumnReduction.SumRun(sumDyXE, j, s);
            }
        }

        /// <summary>Stores channel c's computed sums, or returns the given ones instead.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly (double SumDy, double SumDyX) TakeSums(int c, double sumDy, double sumDyX)
        {
            if (Sums == SumsSource.Given)
            {
                return (SumDy[c], SumDyX[c]);
            }

            if (SumDy != null)
            {
                SumDy[c] = sumDy;
                SumDyX[c] = sumDyX;
            }

            return (sumDy, sumDyX);
        }

        /// <summary>The center and inverse standard deviation that make x̂ of channel c: from the output, the batch or the running statistics.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly (double Mean, double InvStd) Statistics(int c) =>
            XHatCenter != null ? (XHatCenter[c], XHatInverseStd[c])
            : Training ? (Mean[c], InverseStd == null ? 0 : InverseStd[c])
            : (double.CreateTruncating(RunningMean[c]), BatchNormKernels.InverseStandardDeviation(double.CreateTruncating(RunningVariance[c]), Epsilon));

        /// <summary>Adds channel c's parameter gradients and stores its input-gradient constants (<see cref="InputGradientCoefficients"/>).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void Finish(int c, double mean, double invStd, double sumDy, double sumDyX, in ChannelConstants<T> g, int j)
        {
            double r = Corrections == null ? 1 : Corrections[c];
            if (WeightGradient != null)
            {
                WeightGradient[c] = Corrections == null
                    ? ParameterGradients.Weight(WeightGradient[c], sumDyX, invStd)
                    : ParameterGradients.RenormalizedWeight(WeightGradient[c], sumDyX, invStd, r, Corrections[Layout.Channels + c], sumDy);
            }

            if (BiasGradient != null)
            {
                BiasGradient[c] = ParameterGradients.Bias(BiasGradient[c], sumDy);
            }

            double a = GradientScale != null ? GradientScale[c] : (Weight == null ? 1 : double.CreateTruncating(Weight[c])) * (Corrections == null ? invStd : r * invStd);
            double count = Sums == SumsSource.Given ? Count : Layout.ValuesPerChannel;
            InputGradientCoefficients.Store(g, j, mean, invStd, a, sumDy, sumDyX, count, Training);
        }
    }
}
