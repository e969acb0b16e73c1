using System;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using BatchNorm.Kernels;

namespace BatchNorm;

public static partial class BatchNormKernels
{
    /// <summary>
    /// Training backward: the gradients of a <see cref="ForwardTraining{T}"/> call with respect to its input, weight and
    /// bias, given the gradient of its output and the statistics it returned.
    /// </summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="input">The forward's input, of length <c>layout.Length</c>.</param>
    /// <param name="gradOutput">The gradient of the loss with respect to the forward's output.</param>
    /// <param name="gradInput">Overwritten with the input gradient; empty to skip it. May be the very same memory as <paramref name="gradOutput"/> or <paramref name="input"/>.</param>
    /// <param name="layout">The view <c>(N, C, S)</c> of the tensors.</param>
    /// <param name="weight">Gamma, of length <c>C</c>; empty for 1.</param>
    /// <param name="mean">The batch mean the forward used (length <c>C</c>).</param>
    /// <param name="inverseStandardDeviation">The inverse standard deviation the forward used (length <c>C</c>).</param>
    /// <param name="weightGradient">Length <c>C</c>: the weight gradient is added to it; empty to skip.</param>
    /// <param name="biasGradient">Length <c>C</c>: the bias gradient is added to it; empty to skip.</param>
    /// <param name="maxDegreeOfParallelism">The most threads to use; -1 or 0 for all processors.</param>
    /// <exception cref="ArgumentException">A span's length does not match <paramref name="layout"/>, or <paramref name="gradInput"/> partially overlaps another span.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither <see cref="float"/> nor <see cref="double"/>.</exception>
    /// <remarks>
    /// This method effectively computes, per channel with <c>xhat = (x - mean) * invstd</c> over its <c>M</c> values,
    /// <c>biasGradient += Σdy</c>, <c>weightGradient += Σ(dy * xhat)</c> and
    /// <c>dx = weight * invstd * (dy - Σdy / M - xhat * Σ(dy * xhat) / M)</c>.
    /// The sums accumulate in <see cref="double"/>; the input gradient is one fused pass <c>dx = dy * a + (x - mean) * k + d</c>.
    /// </remarks>
    public static void BackwardTraining<T>(
        ReadOnlySpan<T> input,
        ReadOnlySpan<T> gradOutput,
        Span<T> gradInput,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<double> mean,
        ReadOnlySpan<double> inverseStandardDeviation,
        Span<T> weightGradient,
        Span<T> biasGradient,
        int maxDegreeOfParallelism = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ValidateBackward<T>(input, gradOutput, gradInput, layout, weight, weightGradient, biasGradient);
        CheckLength(mean, layout.Channels, nameof(mean));
        CheckLength(inverseStandardDeviation, layout.Channels, nameof(inverseStandardDeviation));
        CheckApart(gradInput, nameof(gradInput), mean, nameof(mean), inverseStandardDeviation, nameof(inverseStandardDeviation));
        CheckApart(weightGradient, nameof(weightGradient), mean, nameof(mean), inverseStandardDeviation, nameof(inverseStandardDeviation));
        CheckApart(biasGradient, nameof(biasGradient), mean, nameof(mean), inverseStandardDeviation, nameof(inverseStandardDeviation));
        Backward(input, gradOutput, gradInput, layout, weight, mean, inverseStandardDeviation, default, default, 0, weightGradient, biasGradient, maxDegreeOfParallelism);
    }

    /// <summary>
    /// Inference backward: the gradients of a <see cref="ForwardInference{T}"/> call, whose running statistics are
    /// constants, with respect to its input, weight and bias.
    /// </summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="input">The forward's input, of length <c>layout.Length</c>.</param>
    /// <param name="gradOutput">The gradient of the loss with respect to the forward's output.</param>
    /// <param name="gradInput">Overwritten with the input gradient; empty to skip it. May be the very same memory as <paramref name="gradOutput"/> or <paramref name="input"/>.</param>
    /// <param name="layout">The view <c>(N, C, S)</c> of the tensors.</param>
    /// <param name="weight">Gamma, of length <c>C</c>; empty for 1.</param>
    /// <param name="runningMean">The mean the forward used (length <c>C</c>).</param>
    /// <param name="runningVariance">The variance the forward used (length <c>C</c>).</param>
    /// <param name="epsilon">The value the forward added to the variance; zero or more.</param>
    /// <param name="weightGradient">Length <c>C</c>: the weight gradient is added to it; empty to skip.</param>
    /// <param name="biasGradient">Length <c>C</c>: the bias gradient is added to it; empty to skip.</param>
    /// <param name="maxDegreeOfParallelism">The most threads to use; -1 or 0 for all processors.</param>
    /// <exception cref="ArgumentException">A span's length does not match <paramref name="layout"/>, or <paramref name="gradInput"/> partially overlaps another span.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epsilon"/> is negative or NaN.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither <see cref="float"/> nor <see cref="double"/>.</exception>
    /// <remarks>
    /// This method effectively computes, per channel with <c>invstd = 1 / sqrt(runningVariance + epsilon)</c> and
    /// <c>xhat = (x - runningMean) * invstd</c>: <c>dx = dy * weight * invstd</c>, <c>biasGradient += Σdy</c> and
    /// <c>weightGradient += Σ(dy * xhat)</c>, the sums in <see cref="double"/>.
    /// </remarks>
    public static void BackwardInference<T>(
        ReadOnlySpan<T> input,
        ReadOnlySpan<T> gradOutput,
        Span<T> gradInput,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<T> runningMean,
        ReadOnlySpan<T> runningVariance,
        double epsilon,
        Span<T> weightGradient,
        Span<T> biasGradient,
        int maxDegreeOfParallelism = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ValidateBackward<T>(input, gradOutput, gradInput, layout, weight, weightGradient, biasGradient);
        CheckEpsilon(epsilon);
        CheckLength(runningMean, layout.Channels, nameof(runningMean));
        CheckLength(runningVariance, layout.Channels, nameof(runningVariance));
        CheckApart(gradInput, nameof(gradInput), runningMean, nameof(runningMean), runningVariance, nameof(runningVariance));
        CheckApart(weightGradient, nameof(weightGradient), runningMean, nameof(runningMean), runningVariance, nameof(runningVariance));
        CheckApart(biasGradient, nameof(biasGradient), runningMean, nameof(runningMean), runningVariance, nameof(runningVariance));
        Backward(input, gradOutput, gradInput, layout, weight, default, default, runningMean, runningVariance, epsilon, weightGradient, biasGradient, maxDegreeOfParallelism);
    }

    /// <summary>
    /// The reduction half of the training backward: each channel's <c>Σdy</c> and <c>Σdy·(x - mean)</c>, for sums that
    /// are combined elsewhere (for example across replicas) before <see cref="BackwardElementwise{T}"/>.
    /// </summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="input">The forward's input, of length <c>layout.Length</c>.</param>
    /// <param name="gradOutput">The gradient of the loss with respect to the forward's output.</param>
    /// <param name="layout">The view <c>(N, C, S)</c> of the tensors.</param>
    /// <param name="mean">The mean the forward used (length <c>C</c>).</param>
    /// <param name="sumGradOutput">Receives <c>Σdy</c> per channel (length <c>C</c>).</param>
    /// <param name="sumGradOutputCentered">Receives <c>Σdy·(x - mean)</c> per channel (length <c>C</c>).</param>
    /// <param name="maxDegreeOfParallelism">The most threads to use; -1 or 0 for all processors.</param>
    /// <exception cref="ArgumentException">A span's length does not match <paramref name="layout"/>.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither <see cref="float"/> nor <see cref="double"/>.</exception>
    /// <remarks>
    /// This method effectively computes <c>Σdy</c> and <c>Σdy·(x - mean)</c> over each channel's values, in <see cref="double"/>.
    /// The weight gradient is <c>Σdy·(x - mean) * invstd</c> and the bias gradient <c>Σdy</c>.
    /// </remarks>
    public static void BackwardReduce<T>(
        ReadOnlySpan<T> input,
        ReadOnlySpan<T> gradOutput,
        BatchNormLayout layout,
        ReadOnlySpan<double> mean,
        Span<double> sumGradOutput,
        Span<double> sumGradOutputCentered,
        int maxDegreeOfParallelism = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ValidateBackward<T>(input, gradOutput, default, layout, default, default, default);
        CheckLength(mean, layout.Channels, nameof(mean));
        // (The mean stands in for the unused inverse standard deviation below: without gradInput nothing reads it.)
        CheckLength<double>(sumGradOutput, layout.Channels, nameof(sumGradOutput));
        CheckLength<double>(sumGradOutputCentered, layout.Channels, nameof(sumGradOutputCentered));
        CheckDisjoint<double, double>(sumGradOutput, sumGradOutputCentered, nameof(sumGradOutputCentered), nameof(sumGradOutput));
        CheckApart(sumGradOutput, nameof(sumGradOutput), input, nameof(input), gradOutput, nameof(gradOutput));
        CheckApart(sumGradOutputCentered, nameof(sumGradOutputCentered), input, nameof(input), gradOutput, nameof(gradOutput));
        CheckDisjoint(mean, sumGradOutput, nameof(sumGradOutput), nameof(mean));
        CheckDisjoint(mean, sumGradOutputCentered, nameof(sumGradOutputCentered), nameof(mean));
        Backward(input, gradOutput, default, layout, default, mean, mean, default, default, 0, default, default, maxDegreeOfParallelism, sumGradOutput, sumGradOutputCentered);
    }

    /// <summary>
    /// The element half of the training backward: the input gradient from sums that <see cref="BackwardReduce{T}"/>
    /// produced and that may have been combined over more values than this input holds.
    /// </summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="input">The forward's input, of length <c>layout.Length</c>.</param>
    /// <param name="gradOutput">The gradient of the loss with respect to the forward's output.</param>
    /// <param name="gradInput">Overwritten with the input gradient; may be the very same memory as <paramref name="gradOutput"/> or <paramref name="input"/>.</param>
    /// <param name="layout">The view <c>(N, C, S)</c> of the tensors.</param>
    /// <param name="weight">Gamma, of length <c>C</c>; empty for 1.</param>
    /// <param name="mean">The mean the forward used (length <c>C</c>).</param>
    /// <param name="inverseStandardDeviation">The inverse standard deviation the forward used (length <c>C</c>).</param>
    /// <param name="sumGradOutput"><c>Σdy</c> per channel over all <paramref name="count"/> values.</param>
    /// <param name="sumGradOutputCentered"><c>Σdy·(x - mean)</c> per channel over all <paramref name="count"/> values.</param>
    /// <param name="count">The number of values per channel the statistics and sums were taken over; one or more.</param>
    /// <param name="maxDegreeOfParallelism">The most threads to use; -1 or 0 for all processors.</param>
    /// <exception cref="ArgumentException">A span's length does not match <paramref name="layout"/>, or <paramref name="gradInput"/> partially overlaps another span.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is below 1.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither <see cref="float"/> nor <see cref="double"/>.</exception>
    /// <remarks>
    /// This method effectively computes <c>dx = weight * invstd * (dy - Σdy / count - (x - mean) * invstd² * Σdy·(x - mean) / count)</c>.
    /// </remarks>
    public static void BackwardElementwise<T>(
        ReadOnlySpan<T> input,
        ReadOnlySpan<T> gradOutput,
        Span<T> gradInput,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<double> mean,
        ReadOnlySpan<double> inverseStandardDeviation,
        ReadOnlySpan<double> sumGradOutput,
        ReadOnlySpan<double> sumGradOutputCentered,
        long count,
        int maxDegreeOfParallelism = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ValidateBackward<T>(input, gradOutput, gradInput, layout, weight, default, default);
        CheckLength(gradInput, layout.Length, nameof(gradInput));
        CheckLength(mean, layout.Channels, nameof(mean));
        CheckLength(inverseStandardDeviation, layout.Channels, nameof(inverseStandardDeviation));
        CheckLength(sumGradOutput, layout.Channels, nameof(sumGradOutput));
        CheckLength(sumGradOutputCentered, layout.Channels, nameof(sumGradOutputCentered));
        CheckApart(gradInput, nameof(gradInput), mean, nameof(mean), inverseStandardDeviation, nameof(inverseStandardDeviation));
        CheckApart(gradInput, nameof(gradInput), sumGradOutput, nameof(sumGradOutput), sumGradOutputCentered, nameof(sumGradOutputCentered));
        if (count < 1)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(count), count, "Expected a count of one or more.");
        }

        // The body only reads the sums when they are given.
        Span<double> sdy = MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(sumGradOutput), sumGradOutput.Length);
        Span<double> sdyx = MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(sumGradOutputCentered), sumGradOutputCentered.Length);
        Backward(input, gradOutput, gradInput, layout, weight, mean, inverseStandardDeviation, default, default, 0, default, default, maxDegreeOfParallelism, sdy, sdyx, givenSums: true, count);
    }

    private static void ValidateBackward<T>(
        ReadOnlySpan<T> input,
        ReadOnlySpan<T> gradOutput,
        ReadOnlySpan<T> gradInput,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<T> weightGradient,
        ReadOnlySpan<T> biasGradient)
    {
        EnsureSupported<T>();
        CheckLength(input, layout.Length, nameof(input));
        CheckLength(gradOutput, layout.Length, nameof(gradOutput));
        CheckOptionalLength(gradInput, layout.Length, nameof(gradInput));
        CheckOptionalLength(weight, layout.Channels, nameof(weight));
        CheckOptionalLength(weightGradient, layout.Channels, nameof(weightGradient));
        CheckOptionalLength(biasGradient, layout.Channels, nameof(biasGradient));
        CheckAliasing(gradOutput, gradInput, nameof(gradInput), nameof(gradOutput));
        CheckAliasing(input, gradInput, nameof(gradInput), nameof(input));
        CheckApart(gradInput, nameof(gradInput), weightGradient, nameof(weightGradient), biasGradient, nameof(biasGradient));
        CheckDisjoint(weight, gradInput, nameof(gradInput), nameof(weight));
        CheckDisjoint(weightGradient, biasGradient, nameof(biasGradient), nameof(weightGradient));
        CheckApart(weightGradient, nameof(weightGradient), input, nameof(input), gradOutput, nameof(gradOutput));
        CheckDisjoint(weight, weightGradient, nameof(weightGradient), nameof(weight));
        CheckApart(biasGradient, nameof(biasGradient), input, nameof(input), gradOutput, nameof(gradOutput));
        CheckDisjoint(weight, biasGradient, nameof(biasGradient), nameof(weight));
    }

    private static unsafe void Backward<T>(
        ReadOnlySpan<T> input,
        ReadOnlySpan<T> gradOutput,
        Span<T> gradInput,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<double> mean,
        ReadOnlySpan<double> inverseStandardDeviation,
        ReadOnlySpan<T> runningMean,
        ReadOnlySpan<T> runningVariance,
        double epsilon,
        Span<T> weightGradient,
        Span<T> biasGradient,
        int maxDegreeOfParallelism,
        Span<double> sumGradOutput = default,
        Span<double> sumGradOutputCentered = default,
        bool givenSums = false,
        long count = 0)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        fixed (T* x = input, dy = gradOutput, dx = gradInput, w = weight, rm = runningMean, rv = runningVariance)
        fixed (T* dw = weightGradient, db = biasGradient)
        fixed (double* m = mean, s = inverseStandardDeviation, sdy = sumGradOutput, sdyx = sumGradOutputCentered)
        {
            var body = new BackwardBody<T>
            {
                X = x,
                Dy = dy,
                Dx = gradInput.IsEmpty ? null : dx,
                Weight = w,
                Mean = m,
                InverseStd = s,
                RunningMean = rm,
                RunningVariance = rv,
                Epsilon = epsilon,
                WeightGradient = weightGradient.IsEmpty ? null : dw,
                BiasGradient = biasGradient.IsEmpty ? null : db,
                Layout = layout,
                Block = ChannelsPerChunk<T>(layout),
                SumDy = sdy,
                SumDyX = sdyx,
                GivenSums = givenSums,
                Count = count,
            };
            ParallelChunks.Run(body, (layout.Channels + body.Block - 1) / body.Block, layout.Length, maxDegreeOfParallelism);
        }
    }

    /// <summary>
    /// One chunk of a backward pass, a block of consecutive channels walked as in the forward pass: the two sums, the
    /// parameter gradients, then the input-gradient pass.
    /// </summary>
    private unsafe struct BackwardBody<T> : IChunkBody
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T* X;
        public T* Dy;
        public T* Dx;
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

        /// <summary>Per-channel Σdy and Σdy·(x - mean): outputs, or inputs when <see cref="GivenSums"/>.</summary>
        public double* SumDy;
        public double* SumDyX;

        /// <summary>Whether the sums are given (over <see cref="Count"/> values, say across replicas) rather than computed.</summary>
        public bool GivenSums;
        public double Count;

        private readonly bool Training => RunningMean == null;

        private readonly bool NeedsSums => !GivenSums && (Training || WeightGradient != null || BiasGradient != null || SumDy != null);

        public readonly void Run(int chunk)
        {
            int c0 = chunk * Block, width = Math.Min(Block, Layout.Channels - c0);
            if (UsesColumns<T>(Layout))
            {
                RunColumns(c0, width);
            }
            else
            {
                RunChannels(c0, width);
            }
        }

        private readonly void RunChannels(int c0, int width)
        {
            int s = Layout.SpatialSize, n = s == 0 ? 0 : Layout.BatchSize;
            long stride = (long)Layout.Channels * s;
            long first = (long)c0 * s;
            double* mean = stackalloc double[MaxBlock];
            double* invStd = stackalloc double[MaxBlock];
            Sums* sums = stackalloc Sums[MaxBlock];
            for (int j = 0; j < width; j++)
            {
                (mean[j], invStd[j]) = Statistics(c0 + j);
                sums[j] = default;
            }

            if (NeedsSums)
            {
                for (int i = 0; i < n; i++)
                {
                    for (int j = 0; j < width; j++)
                    {
                        long at = first + i * stride + j * s;
                        ChannelOps.AddGradientSums(new ReadOnlySpan<T>(Dy + at, s), new ReadOnlySpan<T>(X + at, s), mean[j], ref sums[j]);
                    }
                }
            }

            Gradient<T>* g = stackalloc Gradient<T>[MaxBlock];
            for (int j = 0; j < width; j++)
            {
                (double sumDy, double sumDyX) = TakeSums(c0 + j, sums[j].Total1, sums[j].Total2);
                g[j] = Finish(c0 + j, mean[j], invStd[j], sumDy, sumDyX);
            }

            if (Dx == null)
            {
                return;
            }

            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < width; j++)
                {
                    long at = first + i * stride + j * s;
                    ref Gradient<T> gj = ref g[j];
                    if (!gj.Exact)
                    {
                        ElementOps.ApplyScalar(
                            new WideInputGradientOperator<T>(Dy + at, X + at, gj.WideA, mean[j], invStd[j], gj.WideK, gj.WideD), Dx + at, (nuint)s);
                    }
                    else if (Training)
                    {
                        ElementOps.Apply(
                            new InputGradientOperator<T>(Dy + at, X + at, gj.A, gj.Center, gj.InvStd, gj.K, gj.D), Dx + at, (nuint)s);
                    }
                    else
                    {
                        TensorPrimitives.Multiply(new ReadOnlySpan<T>(Dy + at, s), gj.A, new Span<T>(Dx + at, s));
                    }
                }
            }

        }

        private readonly void RunColumns(int c0, int width)
        {
            int n = Layout.BatchSize, s = Layout.SpatialSize, segment = width * s;
            long stride = (long)Layout.Channels * s;
            long first = (long)c0 * s;
            double* mean = stackalloc double[MaxBlock];
            double* invStd = stackalloc double[MaxBlock];
            double* sumDy = stackalloc double[MaxBlock];
            double* sumDyX = stackalloc double[MaxBlock];
            double* meanE = stackalloc double[ColumnSegment];
            for (int j = 0; j < width; j++)
            {
                (mean[j], invStd[j]) = Statistics(c0 + j);
                sumDy[j] = sumDyX[j] = 0;
            }

            Expand(mean, width, s, meanE);
            if (NeedsSums)
            {
                double* sumDyE = stackalloc double[ColumnSegment];
                double* sumDyXE = stackalloc double[ColumnSegment];
                ColumnOps.GradientSums(Dy + first, X + first, stride, n, segment, meanE, sumDyE, sumDyXE);
                for (int j = 0; j < width; j++)
                {
                    sumDy[j] = SumRun(sumDyE, j, s);
                    sumDyX[j] = SumRun(sumDyXE, j, s);
                }
            }

            // The column loops take their constants as arrays, one per constant and element.
            T* a = stackalloc T[MaxBlock];
            T* center = stackalloc T[MaxBlock];
            T* invStdT = stackalloc T[MaxBlock];
            T* k = stackalloc T[MaxBlock];
            T* d = stackalloc T[MaxBlock];
            double* wideA = stackalloc double[MaxBlock];
            double* wideK = stackalloc double[MaxBlock];
            double* wideD = stackalloc double[MaxBlock];
            bool* exact = stackalloc bool[MaxBlock];
            bool allExact = true;
            for (int j = 0; j < width; j++)
            {
                (sumDy[j], sumDyX[j]) = TakeSums(c0 + j, sumDy[j], sumDyX[j]);
                Gradient<T> g = Finish(c0 + j, mean[j], invStd[j], sumDy[j], sumDyX[j]);
                (a[j], center[j], invStdT[j], k[j], d[j]) = (g.A, g.Center, g.InvStd, g.K, g.D);
                (wideA[j], wideK[j], wideD[j], exact[j]) = (g.WideA, g.WideK, g.WideD, g.Exact);
                allExact &= g.Exact;
            }

            if (Dx == null)
            {
                return;
            }

            if (!Training)
            {
                // Evaluation: dx = (dy - 0) * a + 0, the normalize loop with zero center and shift.
                new Span<T>(center, width).Clear();
                new Span<T>(k, width).Clear();
                new Span<T>(d, width).Clear();
            }

            T* aE = stackalloc T[ColumnSegment];
            T* centerE = stackalloc T[ColumnSegment];
            T* invStdE = stackalloc T[ColumnSegment];
            T* kE = stackalloc T[ColumnSegment];
            T* dE = stackalloc T[ColumnSegment];
            Expand(a, width, s, aE);
            Expand(center, width, s, centerE);
            Expand(invStdT, width, s, invStdE);
            Expand(k, width, s, kE);
            Expand(d, width, s, dE);
            if (allExact)
            {
                if (Training)
                {
                    ColumnOps.InputGradient(Dy + first, X + first, Dx + first, stride, n, segment, aE, centerE, invStdE, kE, dE);
                }
                else
                {
                    ColumnOps.Normalize(Dy + first, Dx + first, stride, n, segment, centerE, aE, dE);
                }

                return;
            }

            double* wideAE = stackalloc double[ColumnSegment];
            double* invStdWideE = stackalloc double[ColumnSegment];
            double* wideKE = stackalloc double[ColumnSegment];
            double* wideDE = stackalloc double[ColumnSegment];
            bool* exactE = stackalloc bool[ColumnSegment];
            Expand(wideA, width, s, wideAE);
            Expand(invStd, width, s, invStdWideE);
            Expand(wideK, width, s, wideKE);
            Expand(wideD, width, s, wideDE);
            Expand(exact, width, s, exactE);
            if (Training)
            {
                ColumnOps.InputGradientMixed(
                    Dy + first, X + first, Dx + first, stride, n, segment, aE, centerE, invStdE, kE, dE, exactE, wideAE, meanE, invStdWideE, wideKE, wideDE);
            }
            else
            {
                // dx = (dy - 0) * a + 0 again, in double where a does not fit T (wideK and wideD are 0 in evaluation).
                ColumnOps.NormalizeMixed(Dy + first, Dx + first, stride, n, segment, centerE, aE, dE, exactE, wideKE, wideAE, wideDE);
            }
        }

        /// <summary>Stores channel c's computed sums, or returns the given ones instead.</summary>
        private readonly (double SumDy, double SumDyX) TakeSums(int c, double sumDy, double sumDyX)
        {
            if (GivenSums)
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

        private readonly (double Mean, double InvStd) Statistics(int c) =>
            Training
                ? (Mean[c], InverseStd[c])
                : (double.CreateTruncating(RunningMean[c]), InverseStandardDeviation(double.CreateTruncating(RunningVariance[c]), Epsilon));

        /// <summary>
        /// Adds channel c's parameter gradients and returns the constants of
        /// dx = dy * a + ((x - mean) * invStd) * k + d (in evaluation k = d = 0), in <typeparamref name="T"/> with the
        /// mean split into center and a remainder folded into d as in the forward pass, and in <see cref="double"/> for
        /// channels <typeparamref name="T"/> cannot hold (see <see cref="Gradient{T}.Exact"/>).
        /// </summary>
        private readonly Gradient<T> Finish(int c, double mean, double invStd, double sumDy, double sumDyX)
        {
            if (WeightGradient != null)
            {
                WeightGradient[c] = T.CreateTruncating(double.CreateTruncating(WeightGradient[c]) + sumDyX * invStd);
            }

            if (BiasGradient != null)
            {
                BiasGradient[c] = T.CreateTruncating(double.CreateTruncating(BiasGradient[c]) + sumDy);
            }

            double weight = Weight == null ? 1 : double.CreateTruncating(Weight[c]);
            double count = GivenSums ? Count : Layout.ValuesPerChannel;
            double a = weight * invStd;
            double k = Training ? -a * invStd * sumDyX / count : 0;
            double d = Training ? -a * sumDy / count : 0;
            T center = T.CreateTruncating(mean);
            T shiftedD = T.CreateTruncating(d - k * invStd * (mean - double.CreateTruncating(center)));

            // As in the forward pass; batch statistics bound every |x - mean| by sqrt(M * var) <= sqrt(M) / invStd.
            double limit = ElementOps.Limit<T>();
            double spread = Training && invStd != 0 ? Math.Sqrt(count) / invStd : 0;
            bool exact = ElementOps.Fits<T>(a) && ElementOps.Fits<T>(invStd) && ElementOps.Fits<T>(k) && T.IsFinite(shiftedD)
                && Math.Abs(mean) <= limit && spread <= limit;
            return new Gradient<T>
            {
                A = T.CreateTruncating(a),
                Center = center,
                InvStd = T.CreateTruncating(invStd),
                K = T.CreateTruncating(k),
                D = shiftedD,
                WideA = a,
                WideK = k,
                WideD = d,
                Exact = exact,
            };
        }
    }

    /// <summary>One channel's input-gradient constants (see <see cref="BackwardBody{T}"/>'s Finish).</summary>
    private struct Gradient<T>
        where T : unmanaged
    {
        public T A;
        public T Center;
        public T InvStd;
        public T K;
        public T D;
        public double WideA;
        public double WideK;
        public double WideD;

        /// <summary>Whether the <typeparamref name="T"/> constants are good for the vector loops.</summary>
        public bool Exact;
    }
}