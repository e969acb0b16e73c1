using System;
using System.Runtime.CompilerServices;
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
        Guard.Length(mean, layout.Channels);
        Guard.Length(inverseStandardDeviation, layout.Channels);
        Guard.Apart(gradInput, mean, inverseStandardDeviation);
        Guard.Apart(weightGradient, mean, inverseStandardDeviation);
        Guard.Apart(biasGradient, mean, inverseStandardDeviation);
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
        Guard.Epsilon(epsilon);
        Guard.Length(runningMean, layout.Channels);
        Guard.Length(runningVariance, layout.Channels);
        Guard.Apart(gradInput, runningMean, runningVariance);
        Guard.Apart(weightGradient, runningMean, runningVariance);
        Guard.Apart(biasGradient, runningMean, runningVariance);
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
        Guard.Length(mean, layout.Channels);
        // (The mean stands in for the unused inverse standard deviation below: without gradInput nothing reads it.)
        Guard.Length<double>(sumGradOutput, layout.Channels);
        Guard.Length<double>(sumGradOutputCentered, layout.Channels);
        Guard.Apart<double, double>(sumGradOutput, sumGradOutputCentered);
        Guard.Apart(sumGradOutput, input, gradOutput);
        Guard.Apart(sumGradOutputCentered, input, gradOutput);
        Guard.Apart(mean, sumGradOutput);
        Guard.Apart(mean, sumGradOutputCentered);
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
        Guard.Length(gradInput, layout.Length);
        Guard.Length(mean, layout.Channels);
        Guard.Length(inverseStandardDeviation, layout.Channels);
        Guard.Length(sumGradOutput, layout.Channels);
        Guard.Length(sumGradOutputCentered, layout.Channels);
        Guard.Apart(gradInput, mean, inverseStandardDeviation);
        Guard.Apart(gradInput, sumGradOutput, sumGradOutputCentered);
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
        Guard.SupportedType<T>();
        Guard.Length(input, layout.Length);
        Guard.Length(gradOutput, layout.Length);
        Guard.OptionalLength(gradInput, layout.Length);
        Guard.OptionalLength(weight, layout.Channels);
        Guard.OptionalLength(weightGradient, layout.Channels);
        Guard.OptionalLength(biasGradient, layout.Channels);
        Guard.SameOrApart(gradOutput, gradInput);
        Guard.SameOrApart(input, gradInput);
        Guard.Apart(gradInput, weightGradient, biasGradient);
        Guard.Apart(weight, gradInput);
        Guard.Apart(weightGradient, biasGradient);
        Guard.Apart(weightGradient, input, gradOutput);
        Guard.Apart(weight, weightGradient);
        Guard.Apart(biasGradient, input, gradOutput);
        Guard.Apart(weight, biasGradient);
    }

    /// <summary>
    /// Runs a backward pass: fused per chunk of channels (sums, then the input gradient from cache) where the runs are long
    /// enough (see <see cref="KernelPlan.FusesPasses{T}"/>), otherwise a sums pass that leaves every channel's constants in pooled
    /// buffers and an element pass in memory order (see <see cref="ElementPartition{T}"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
                SumDy = sdy,
                SumDyX = sdyx,
                GivenSums = givenSums,
                Count = count,
            };
            bool fused = body.Dx != null && body.NeedsSums && KernelPlan.FusesPasses<T>(layout);
            body.Block = KernelPlan.ChannelsPerChunk<T>(layout, fused);
            int chunks = (layout.Channels + body.Block - 1) / body.Block;
            long work = body.NeedsSums ? 2 * layout.Length : layout.Channels;
            if (fused || body.Dx == null)
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
                var pass = new InputGradientPass<T> { Body = body, Partition = new ElementPartition<T>(layout) };
                ParallelChunks.Run(pass, pass.Partition.Count, 2 * layout.Length, maxDegreeOfParallelism);
            }
        }
    }

    /// <summary>The element pass of an unfused backward: one chunk of <see cref="ElementPartition{T}"/>.</summary>
    private unsafe struct InputGradientPass<T> : IChunkBody
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public BackwardBody<T> Body;
        public ElementPartition<T> Partition;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run(int chunk)
        {
            (int n0, int n1, int c0, int width) = Partition[chunk];
            Body.InputGradient(n0, n1, c0, width, Body.Constants.From(c0));
        }
    }

    /// <summary>
    /// One chunk of a backward's first pass, a block of consecutive channels walked as in the forward pass: the two
    /// sums, the parameter gradients and the input-gradient constants, then (fused) the block's input-gradient pass.
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

        /// <summary>Where the constants of every channel go for a separate element pass; empty when fused.</summary>
        public ChannelConstants<T> Constants;

        public readonly bool NeedsSums => !GivenSums && (Training || WeightGradient != null || BiasGradient != null || SumDy != null);

        private readonly bool Training => RunningMean == null;

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
                InputGradient(0, Layout.BatchSize, c0, width, g);
            }
        }

        /// <summary>
        /// The input gradient of samples n0 to n1 - 1 of the <paramref name="width"/> channels from c0 on, with constants
        /// <paramref name="g"/> indexed from c0: run by run, or (short runs) row by row with per-element constants.
        /// </summary>
        public readonly void InputGradient(int n0, int n1, int c0, int width, in ChannelConstants<T> g)
        {
            int s = Layout.SpatialSize;
            long stride = (long)Layout.Channels * s;
            long first = n0 * stride + (long)c0 * s;
            T* x = X + first, dy = Dy + first, dx = Dx + first;
            if (!KernelPlan.UsesColumns<T>(Layout))
            {
                T* a = g.Values(InputGradientCoefficients.A), center = g.Values(InputGradientCoefficients.Center), invStd = g.Values(InputGradientCoefficients.InvStd);
                T* k = g.Values(InputGradientCoefficients.K), d = g.Values(InputGradientCoefficients.D);
                double* wa = g.Wide(InputGradientCoefficients.A), mean = g.Wide(InputGradientCoefficients.Center), wi = g.Wide(InputGradientCoefficients.InvStd);
                double* wk = g.Wide(InputGradientCoefficients.K), wd = g.Wide(InputGradientCoefficients.D);
                for (int i = 0; i < n1 - n0; i++)
                {
                    for (int j = 0; j < width; j++)
                    {
                        long at = i * stride + j * s;
                        if (!g.Exact[j])
                        {
                            ElementOps.ApplyScalar(new WideInputGradientOperator<T>(dy + at, x + at, wa[j], mean[j], wi[j], wk[j], wd[j]), dx + at, (nuint)s);
                        }
                        else if (Training)
                        {
                            ElementOps.Apply(new InputGradientOperator<T>(dy + at, x + at, a[j], center[j], invStd[j], k[j], d[j]), dx + at, (nuint)s);
                        }
                        else
                        {
                            TensorPrimitives.Multiply(new ReadOnlySpan<T>(dy + at, s), a[j], new Span<T>(dx + at, s));
                        }
                    }
                }

                return;
            }

            // The column loops take their constants per element; for S = 1 those are the channels' own.
            int segment = width * s;
            ChannelConstants<T> e = g;
            if (s != 1)
            {
                T* t = stackalloc T[ChannelConstants<T>.Count * KernelPlan.ColumnSegment];
                double* w = stackalloc double[ChannelConstants<T>.Count * KernelPlan.ColumnSegment];
                bool* exact = stackalloc bool[KernelPlan.ColumnSegment];
                e = new ChannelConstants<T>(t, w, exact, KernelPlan.ColumnSegment);
                g.ExpandInto(e, width, s);
            }

            int rows = n1 - n0;
            bool allExact = new ReadOnlySpan<bool>(e.Exact, segment).IndexOf(false) < 0;
            T* ea = e.Values(InputGradientCoefficients.A), ec = e.Values(InputGradientCoefficients.Center), ei = e.Values(InputGradientCoefficients.InvStd);
            T* ek = e.Values(InputGradientCoefficients.K), ed = e.Values(InputGradientCoefficients.D);
            double* ewa = e.Wide(InputGradientCoefficients.A), ewm = e.Wide(InputGradientCoefficients.Center), ewi = e.Wide(InputGradientCoefficients.InvStd);
            double* ewk = e.Wide(InputGradientCoefficients.K), ewd = e.Wide(InputGradientCoefficients.D);
            if (Training)
            {
                if (allExact)
                {
                    ColumnOps.InputGradient(dy, x, dx, stride, rows, segment, ea, ec, ei, ek, ed);
                }
                else
                {
                    ColumnOps.InputGradientMixed(dy, x, dx, stride, rows, segment, ea, ec, ei, ek, ed, e.Exact, ewa, ewm, ewi, ewk, ewd);
                }
            }
            else if (allExact)
            {
                // Evaluation: dx = (dy - 0) * a + 0, the normalize loop with zero center and D.
                ColumnOps.Normalize(dy, dx, stride, rows, segment, ec, ea, ed);
            }
            else
            {
                // The same in double where a does not fit T (wide K and D are 0 in evaluation).
                ColumnOps.NormalizeMixed(dy, dx, stride, rows, segment, ec, ea, ed, e.Exact, ewk, ewa, ewd);
            }
        }

        private readonly void ChannelSums(int c0, int width, double* mean, double* sumDy, double* sumDyX)
        {
            int s = Layout.SpatialSize, n = s == 0 ? 0 : Layout.BatchSize;
            long stride = (long)Layout.Channels * s;
            long first = (long)c0 * s;
            LaneSums* sums = stackalloc LaneSums[KernelPlan.MaxBlock];
            new Span<LaneSums>(sums, width).Clear();
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < width; j++)
                {
                    long at = first + i * stride + j * s;
                    RunReduction.Accumulate<T, GradientProducts>(Dy + at, X + at, s, mean[j], ref sums[j]);
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
            ChannelConstants<T>.Expand(mean, width, s, meanE);
            ColumnOps.GradientSums(Dy + first, X + first, stride, Layout.BatchSize, width * s, meanE, sumDyE, sumDyXE);
            for (int j = 0; j < width; j++)
            {
                sumDy[j] = SumRun(sumDyE, j, s);
                sumDyX[j] = SumRun(sumDyXE, j, s);
            }
        }

        /// <summary>Stores channel c's computed sums, or returns the given ones instead.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly (double Mean, double InvStd) Statistics(int c) =>
            Training
                ? (Mean[c], InverseStd[c])
                : (double.CreateTruncating(RunningMean[c]), InverseStandardDeviation(double.CreateTruncating(RunningVariance[c]), Epsilon));

        /// <summary>Adds channel c's parameter gradients and stores its input-gradient constants (<see cref="InputGradientCoefficients"/>).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void Finish(int c, double mean, double invStd, double sumDy, double sumDyX, in ChannelConstants<T> g, int j)
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
            InputGradientCoefficients.Store(g, j, mean, invStd, weight, sumDy, sumDyX, count, Training);
        }
    }
}
