using System;
using System.Runtime.CompilerServices;
using System.Numerics;
using System.Runtime.InteropServices;
using BatchNorm.Kernels;

namespace BatchNorm;

public static partial class BatchNormKernels
{
    /// <summary>
    /// Training forward: normalizes each channel with the batch's own statistics, then applies the affine transform,
    /// and returns the statistics it used.
    /// </summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="input">The input, of length <c>layout.Length</c>.</param>
    /// <param name="output">The output, of length <c>layout.Length</c>; may be the very same memory as <paramref name="input"/>.</param>
    /// <param name="layout">The view <c>(N, C, S)</c> of both tensors.</param>
    /// <param name="weight">Gamma, of length <c>C</c>; empty for 1.</param>
    /// <param name="bias">Beta, of length <c>C</c>; empty for 0.</param>
    /// <param name="epsilon">The value added to the variance; zero or more.</param>
    /// <param name="mean">Receives each channel's batch mean (length <c>C</c>).</param>
    /// <param name="variance">Receives each channel's biased batch variance (length <c>C</c>).</param>
    /// <param name="inverseStandardDeviation">Receives each channel's <c>1 / sqrt(variance + epsilon)</c> (length <c>C</c>).</param>
    /// <param name="maxDegreeOfParallelism">The most threads to use; -1 or 0 for all processors.</param>
    /// <exception cref="ArgumentException">A span's length does not match <paramref name="layout"/>, <paramref name="output"/> partially overlaps <paramref name="input"/>, or a channel holds fewer than two values.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epsilon"/> is negative or NaN.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither <see cref="float"/> nor <see cref="double"/>.</exception>
    /// <remarks>
    /// This method effectively computes <c>y = (x - mean) / sqrt(var + epsilon) * weight + bias</c> per channel, with
    /// <c>mean = Σx / M</c> and the biased <c>var = Σ(x - mean)² / M</c> over the channel's <c>M = N * S</c> values.
    /// NaN or infinity in a channel makes that channel's statistics and outputs NaN; other channels are unaffected.
    /// </remarks>
    public static void ForwardTraining<T>(
        ReadOnlySpan<T> input,
        Span<T> output,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<T> bias,
        double epsilon,
        Span<double> mean,
        Span<double> variance,
        Span<double> inverseStandardDeviation,
        int maxDegreeOfParallelism = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ValidateForward<T>(input, output, layout, weight, bias, epsilon);
        Guard.Length<double>(mean, layout.Channels);
        Guard.Length<double>(variance, layout.Channels);
        Guard.Length<double>(inverseStandardDeviation, layout.Channels);
        Guard.Apart<double, double>(mean, variance);
        Guard.Apart<double, double>(mean, inverseStandardDeviation);
        Guard.Apart<double, double>(variance, inverseStandardDeviation);
        Guard.Apart(mean, input, output);
        Guard.Apart(mean, weight, bias);
        Guard.Apart(variance, input, output);
        Guard.Apart(variance, weight, bias);
        Guard.Apart(inverseStandardDeviation, input, output);
        Guard.Apart(inverseStandardDeviation, weight, bias);
        if (layout.ValuesPerChannel < 2)
        {
            ThrowHelper.ThrowTooFewValues(nameof(input), layout.ValuesPerChannel);
        }

        Forward(input, output, layout, weight, bias, epsilon, default, default, mean, variance, inverseStandardDeviation, maxDegreeOfParallelism);
    }

    /// <summary>Inference forward: normalizes each channel with the given running statistics, then applies the affine transform.</summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="input">The input, of length <c>layout.Length</c>.</param>
    /// <param name="output">The output, of length <c>layout.Length</c>; may be the very same memory as <paramref name="input"/>.</param>
    /// <param name="layout">The view <c>(N, C, S)</c> of both tensors.</param>
    /// <param name="weight">Gamma, of length <c>C</c>; empty for 1.</param>
    /// <param name="bias">Beta, of length <c>C</c>; empty for 0.</param>
    /// <param name="runningMean">The mean to subtract (length <c>C</c>).</param>
    /// <param name="runningVariance">The variance to divide by, as <c>sqrt(runningVariance + epsilon)</c> (length <c>C</c>).</param>
    /// <param name="epsilon">The value added to the variance; zero or more.</param>
    /// <param name="maxDegreeOfParallelism">The most threads to use; -1 or 0 for all processors.</param>
    /// <exception cref="ArgumentException">A span's length does not match <paramref name="layout"/>, or <paramref name="output"/> partially overlaps <paramref name="input"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epsilon"/> is negative or NaN.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither <see cref="float"/> nor <see cref="double"/>.</exception>
    /// <remarks>
    /// This method effectively computes <c>y = (x - runningMean) / sqrt(runningVariance + epsilon) * weight + bias</c>
    /// per channel: one read of the input and one write of the output. NaN propagates element-wise.
    /// </remarks>
    public static void ForwardInference<T>(
        ReadOnlySpan<T> input,
        Span<T> output,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<T> bias,
        ReadOnlySpan<T> runningMean,
        ReadOnlySpan<T> runningVariance,
        double epsilon,
        int maxDegreeOfParallelism = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ValidateForward<T>(input, output, layout, weight, bias, epsilon);
        Guard.Length(runningMean, layout.Channels);
        Guard.Length(runningVariance, layout.Channels);
        Guard.Apart(runningMean, output);
        Guard.Apart(runningVariance, output);
        Forward(input, output, layout, weight, bias, epsilon, runningMean, runningVariance, default, default, default, maxDegreeOfParallelism);
    }

    /// <summary>
    /// Normalizes each channel with the given statistics, then applies the affine transform: the element pass of the
    /// forward, for statistics computed elsewhere (for example merged across replicas).
    /// </summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="input">The input, of length <c>layout.Length</c>.</param>
    /// <param name="output">The output, of length <c>layout.Length</c>; may be the very same memory as <paramref name="input"/>.</param>
    /// <param name="layout">The view <c>(N, C, S)</c> of both tensors.</param>
    /// <param name="weight">Gamma, of length <c>C</c>; empty for 1.</param>
    /// <param name="bias">Beta, of length <c>C</c>; empty for 0.</param>
    /// <param name="mean">The mean to subtract (length <c>C</c>).</param>
    /// <param name="inverseStandardDeviation">The factor <c>1 / sqrt(var + eps)</c> (length <c>C</c>).</param>
    /// <param name="maxDegreeOfParallelism">The most threads to use; -1 or 0 for all processors.</param>
    /// <exception cref="ArgumentException">A span's length does not match <paramref name="layout"/>, or <paramref name="output"/> partially overlaps <paramref name="input"/>.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither <see cref="float"/> nor <see cref="double"/>.</exception>
    /// <remarks>This method effectively computes <c>y = (x - mean) * inverseStandardDeviation * weight + bias</c> per channel.</remarks>
    public static void Normalize<T>(
        ReadOnlySpan<T> input,
        Span<T> output,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<T> bias,
        ReadOnlySpan<double> mean,
        ReadOnlySpan<double> inverseStandardDeviation,
        int maxDegreeOfParallelism = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ValidateForward<T>(input, output, layout, weight, bias, 0);
        Guard.Length(mean, layout.Channels);
        Guard.Length(inverseStandardDeviation, layout.Channels);
        Guard.Apart(output, mean, inverseStandardDeviation);

        // The body only reads the statistics when they are given.
        Span<double> m = MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(mean), mean.Length);
        Span<double> s = MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(inverseStandardDeviation), inverseStandardDeviation.Length);
        Forward(input, output, layout, weight, bias, 0, default, default, m, default, s, maxDegreeOfParallelism, givenStatistics: true);
    }

    /// <summary>Computes each channel's mean and biased variance.</summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="input">The input, of length <c>layout.Length</c>.</param>
    /// <param name="layout">The view <c>(N, C, S)</c> of the input.</param>
    /// <param name="mean">Receives each channel's mean (length <c>C</c>).</param>
    /// <param name="variance">Receives each channel's biased variance (length <c>C</c>).</param>
    /// <param name="maxDegreeOfParallelism">The most threads to use; -1 or 0 for all processors.</param>
    /// <exception cref="ArgumentException">A span's length does not match <paramref name="layout"/>, or a channel is empty.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither <see cref="float"/> nor <see cref="double"/>.</exception>
    /// <remarks>
    /// This method effectively computes <c>mean = Σx / M</c> and <c>var = Σ(x - mean)² / M</c> over each channel's
    /// <c>M = N * S</c> values, accumulated in <see cref="double"/> around a shift so that large means do not cancel.
    /// </remarks>
    public static void ComputeStatistics<T>(
        ReadOnlySpan<T> input,
        BatchNormLayout layout,
        Span<double> mean,
        Span<double> variance,
        int maxDegreeOfParallelism = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Guard.SupportedType<T>();
        Guard.Length(input, layout.Length);
        Guard.Length<double>(mean, layout.Channels);
        Guard.Length<double>(variance, layout.Channels);
        Guard.Apart<double, double>(mean, variance);
        Guard.Apart(mean, input, variance);
        Guard.Apart(variance, input, mean);
        if (layout.ValuesPerChannel < 1)
        {
            ThrowHelper.ThrowArgument(nameof(input), "Expected at least one value per channel, but the input is empty.");
        }

        Forward(input, default, layout, default, default, 0, default, default, mean, variance, default, maxDegreeOfParallelism);
    }

    internal static void ValidateForward<T>(
        ReadOnlySpan<T> input, ReadOnlySpan<T> output, BatchNormLayout layout, ReadOnlySpan<T> weight, ReadOnlySpan<T> bias, double epsilon)
    {
        Guard.SupportedType<T>();
        Guard.Epsilon(epsilon);
        Guard.Length(input, layout.Length);
        Guard.Length(output, layout.Length);
        Guard.OptionalLength(weight, layout.Channels);
        Guard.OptionalLength(bias, layout.Channels);
        Guard.SameOrApart(input, output);
        Guard.Apart(weight, output);
        Guard.Apart(bias, output);
    }

    /// <summary>
    /// Runs a forward pass; empty statistics outputs and an empty output are skipped. Where runs are long enough to
    /// stream (see <see cref="KernelPlan.FusesPasses{T}"/>), each chunk normalizes its channels right after their statistics, the
    /// second read from cache (fused); otherwise a first pass computes every channel's statistics and constants and a second walks the tensor
    /// in memory order (see <see cref="ElementPartition{T}"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Forward<T>(
        ReadOnlySpan<T> input,
        Span<T> output,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<T> bias,
        double epsilon,
        ReadOnlySpan<T> runningMean,
        ReadOnlySpan<T> runningVariance,
        Span<double> mean,
        Span<double> variance,
        Span<double> inverseStandardDeviation,
        int maxDegreeOfParallelism,
        bool givenStatistics = false)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        bool batchStatistics = runningMean.IsEmpty && !givenStatistics;
        bool fused = !output.IsEmpty && batchStatistics && KernelPlan.FusesPasses<T>(layout);
        fixed (T* x = input, y = output, w = weight, b = bias, rm = runningMean, rv = runningVariance)
        fixed (double* m = mean, v = variance, s = inverseStandardDeviation)
        {
            var body = new ForwardBody<T>
            {
                X = x,
                Y = output.IsEmpty ? null : y,
                Weight = w,
                Bias = b,
                RunningMean = rm,
                RunningVariance = rv,
                Mean = m,
                Variance = v,
                InverseStd = s,
                Epsilon = epsilon,
                Layout = layout,
                Block = KernelPlan.ChannelsPerChunk<T>(layout, fused),
                GivenStatistics = givenStatistics,
            };
            int chunks = (layout.Channels + body.Block - 1) / body.Block;

            // The first pass reads the whole tensor only for batch statistics.
            long work = batchStatistics ? layout.Length : layout.Channels;
            if (fused || output.IsEmpty)
            {
                ParallelChunks.Run(body, chunks, work, maxDegreeOfParallelism);
                return;
            }

            using var rented = new RentedConstants<T>(layout.Channels);
            fixed (T* kt = rented.Values)
            fixed (double* kd = rented.Wide)
            fixed (bool* ke = rented.Exact)
            {
                body.Constants = new ChannelConstants<T>(kt, kd, ke, layout.Channels);
                ParallelChunks.Run(body, chunks, work, maxDegreeOfParallelism);
                var pass = new NormalizePass<T> { X = x, Y = y, Layout = layout, Constants = body.Constants, Partition = new ElementPartition<T>(layout) };
                ParallelChunks.Run(pass, pass.Partition.Count, layout.Length, maxDegreeOfParallelism);
            }
        }
    }

    /// <summary>
    /// Normalizes samples n0 to n1 - 1 of the <paramref name="width"/> channels from c0 on, with constants
    /// <paramref name="k"/> indexed from c0: run by run, or (for short runs) row by row over the block's contiguous
    /// segment with per-element constants.
    /// </summary>
    private static unsafe void NormalizeBlock<T>(T* x, T* y, BatchNormLayout layout, int n0, int n1, int c0, int width, in ChannelConstants<T> k)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int s = layout.SpatialSize;
        long stride = (long)layout.Channels * s;
        long first = n0 * stride + (long)c0 * s;
        x += first;
        y += first;
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
                        ElementOps.Apply(new NormalizeOperator<T>(x + at, center[j], scale[j], shift[j]), y + at, (nuint)s);
                    }
                    else
                    {
                        ElementOps.ApplyScalar(new WideNormalizeOperator<T>(x + at, mean[j], wideScale[j], bias[j]), y + at, (nuint)s);
                    }
                }
            }

            return;
        }

        // The column loops take their constants per element; for S = 1 those are the channels' own.
        int segment = width * s;
        ChannelConstants<T> e = k;
        if (s != 1)
        {
            T* t = stackalloc T[ChannelConstants<T>.Count * KernelPlan.ColumnSegment];
            double* d = stackalloc double[ChannelConstants<T>.Count * KernelPlan.ColumnSegment];
            bool* exact = stackalloc bool[KernelPlan.ColumnSegment];
            e = new ChannelConstants<T>(t, d, exact, KernelPlan.ColumnSegment);
            k.ExpandInto(e, width, s);
        }

        T* ec = e.Values(NormalizeCoefficients.Center), es = e.Values(NormalizeCoefficients.Scale), eh = e.Values(NormalizeCoefficients.Shift);
        if (new ReadOnlySpan<bool>(e.Exact, segment).IndexOf(false) < 0)
        {
            ColumnOps.Normalize(x, y, stride, n1 - n0, segment, ec, es, eh);
        }
        else
        {
            ColumnOps.NormalizeMixed(
                x, y, stride, n1 - n0, segment, ec, es, eh, e.Exact, e.Wide(NormalizeCoefficients.Center), e.Wide(NormalizeCoefficients.Scale), e.Wide(NormalizeCoefficients.Shift));
        }
    }

    /// <summary>The element pass of an unfused forward: one chunk of <see cref="ElementPartition{T}"/>.</summary>
    private unsafe struct NormalizePass<T> : IChunkBody
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T* X;
        public T* Y;
        public BatchNormLayout Layout;
        public ChannelConstants<T> Constants;
        public ElementPartition<T> Partition;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run(int chunk)
        {
            (int n0, int n1, int c0, int width) = Partition[chunk];
            NormalizeBlock(X, Y, Layout, n0, n1, c0, width, Constants.From(c0));
        }
    }

    /// <summary>
    /// One chunk of a forward's first pass, a block of consecutive channels: statistics (batch, running or given), then
    /// either the normalize pass of the block (fused) or the block's constants for the element pass. Long runs are walked
    /// sample by sample, channel by channel, in runs of <c>S</c> values (<see cref="RunReduction"/>); short ones
    /// (<c>S = 1</c> included) as contiguous segments row by row (<see cref="ColumnOps"/>).
    /// </summary>
    private unsafe struct ForwardBody<T> : IChunkBody
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T* X;
        public T* Y;
        public T* Weight;
        public T* Bias;
        public T* RunningMean;
        public T* RunningVariance;
        public double* Mean;
        public double* Variance;
        public double* InverseStd;
        public double Epsilon;
        public BatchNormLayout Layout;
        public int Block;

        /// <summary>Whether <see cref="Mean"/> and <see cref="InverseStd"/> are given rather than computed.</summary>
        public bool GivenStatistics;

        /// <summary>Where the constants of every channel go for a separate element pass; empty when fused.</summary>
        public ChannelConstants<T> Constants;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run(int chunk)
        {
            int c0 = chunk * Block, width = Math.Min(Block, Layout.Channels - c0);
            double* mean = stackalloc double[KernelPlan.MaxBlock];
            double* invStd = stackalloc double[KernelPlan.MaxBlock];
            if (RunningMean != null || GivenStatistics)
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
            NormalizeBlock(X, Y, Layout, 0, Layout.BatchSize, c0, width, k);
        }

        private readonly void ChannelStatistics(int c0, int width, double* mean, double* invStd)
        {
            int s = Layout.SpatialSize, n = s == 0 ? 0 : Layout.BatchSize;
            long stride = (long)Layout.Channels * s;
            T* x = X + (long)c0 * s;
            double* shift = stackalloc double[KernelPlan.MaxBlock];
            LaneSums* sums = stackalloc LaneSums[KernelPlan.MaxBlock];
            for (int j = 0; j < width; j++)
            {
                shift[j] = double.CreateTruncating(x[j * s]);
                sums[j] = default;
            }

            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < width; j++)
                {
                    T* run = x + i * stride + j * s;
                    RunReduction.Accumulate<T, ShiftedSquares>(run, run, s, shift[j], ref sums[j]);
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
            T* x = X + (long)c0 * s;
            double* shift = stackalloc double[KernelPlan.MaxBlock];
            double* shiftE = stackalloc double[KernelPlan.ColumnSegment];
            double* sum = stackalloc double[KernelPlan.ColumnSegment];
            double* sumOfSquares = stackalloc double[KernelPlan.ColumnSegment];
            for (int j = 0; j < width; j++)
            {
                shift[j] = double.CreateTruncating(x[j * s]);
            }

            ChannelConstants<T>.Expand(shift, width, s, shiftE);
            ColumnOps.ShiftedSums(x, stride, n, width * s, shiftE, sum, sumOfSquares);
            for (int j = 0; j < width; j++)
            {
                (mean[j], invStd[j]) = BatchStatistics(c0 + j, shift[j], SumRun(sum, j, s), SumRun(sumOfSquares, j, s));
            }
        }

        /// <summary>The running statistics, or the given ones, of channels c0 to c0 + width - 1.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void KnownStatistics(int c0, int width, double* mean, double* invStd)
        {
            for (int j = 0; j < width; j++)
            {
                int c = c0 + j;
                (mean[j], invStd[j]) = RunningMean != null
                    ? (double.CreateTruncating(RunningMean[c]), InverseStandardDeviation(double.CreateTruncating(RunningVariance[c]), Epsilon))
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
            double invStd = InverseStandardDeviation(variance, Epsilon);
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
                double scale = (Weight == null ? 1 : double.CreateTruncating(Weight[c])) * invStd[j];
                double bias = Bias == null ? 0 : double.CreateTruncating(Bias[c]);

                // Batch statistics bound every |x - mean| by sqrt(M * var); running or given ones bound nothing.
                double spread = RunningMean == null && !GivenStatistics ? Math.Sqrt(Layout.ValuesPerChannel * Variance[c]) : 0;
                NormalizeCoefficients.Store(k, j, mean[j], scale, bias, spread);
            }
        }
    }
}
