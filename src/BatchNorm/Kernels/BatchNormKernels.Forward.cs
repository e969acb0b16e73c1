using System;
using System.Numerics;
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
        CheckLength<double>(mean, layout.Channels, nameof(mean));
        CheckLength<double>(variance, layout.Channels, nameof(variance));
        CheckLength<double>(inverseStandardDeviation, layout.Channels, nameof(inverseStandardDeviation));
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
        CheckLength(runningMean, layout.Channels, nameof(runningMean));
        CheckLength(runningVariance, layout.Channels, nameof(runningVariance));
        Forward(input, output, layout, weight, bias, epsilon, runningMean, runningVariance, default, default, default, maxDegreeOfParallelism);
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
        EnsureSupported<T>();
        CheckLength(input, layout.Length, nameof(input));
        CheckLength<double>(mean, layout.Channels, nameof(mean));
        CheckLength<double>(variance, layout.Channels, nameof(variance));
        if (layout.ValuesPerChannel < 1)
        {
            ThrowHelper.ThrowArgument(nameof(input), "Expected at least one value per channel, but the input is empty.");
        }

        Forward(input, default, layout, default, default, 0, default, default, mean, variance, default, maxDegreeOfParallelism);
    }

    private static void ValidateForward<T>(
        ReadOnlySpan<T> input, ReadOnlySpan<T> output, BatchNormLayout layout, ReadOnlySpan<T> weight, ReadOnlySpan<T> bias, double epsilon)
    {
        EnsureSupported<T>();
        CheckEpsilon(epsilon);
        CheckLength(input, layout.Length, nameof(input));
        CheckLength(output, layout.Length, nameof(output));
        CheckOptionalLength(weight, layout.Channels, nameof(weight));
        CheckOptionalLength(bias, layout.Channels, nameof(bias));
        CheckAliasing(input, output, nameof(output), nameof(input));
    }

    internal static void CheckEpsilon(double epsilon)
    {
        if (!(epsilon >= 0))
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(epsilon), epsilon, "Expected a value of zero or more, not NaN.");
        }
    }

    /// <summary>Runs the per-channel forward body; empty statistics outputs and an empty output are skipped.</summary>
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
        int maxDegreeOfParallelism)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
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
            };
            ParallelChunks.Run(body, layout.Channels, layout.Length, maxDegreeOfParallelism);
        }
    }

    /// <summary>One channel of a forward pass: statistics (batch or running), then the normalize pass.</summary>
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

        public readonly void Run(int c)
        {
            int n = Layout.BatchSize, s = Layout.SpatialSize;
            long stride = (long)Layout.Channels * s;
            T* first = X + (long)c * s;
            double mean, invStd;
            if (RunningMean != null)
            {
                mean = double.CreateTruncating(RunningMean[c]);
                invStd = InverseStandardDeviation(double.CreateTruncating(RunningVariance[c]), Epsilon);
            }
            else
            {
                ChannelStatistics(first, n, s, stride, out mean, out double variance);
                invStd = InverseStandardDeviation(variance, Epsilon);
                Mean[c] = mean;
                Variance[c] = variance;
                if (InverseStd != null)
                {
                    InverseStd[c] = invStd;
                }
            }

            if (Y == null)
            {
                return;
            }

            // y = (x - mean) * scale + bias, with mean split into a T part (subtracted exactly from nearby x) and
            // a remainder folded into the shift, so a large mean does not cost accuracy.
            double scale = (Weight == null ? 1 : double.CreateTruncating(Weight[c])) * invStd;
            double bias = Bias == null ? 0 : double.CreateTruncating(Bias[c]);
            T center = T.CreateTruncating(mean);
            T shift = T.CreateTruncating(bias - (mean - double.CreateTruncating(center)) * scale);
            T scaleT = T.CreateTruncating(scale);
            T* yFirst = Y + (long)c * s;
            for (int i = 0; i < n; i++)
            {
                ChannelOps.Normalize(new ReadOnlySpan<T>(first + i * stride, s), new Span<T>(yFirst + i * stride, s), center, scaleT, shift);
            }
        }
    }

    /// <summary>Mean and biased variance of one channel's <c>n</c> runs of <c>s</c> values, <c>stride</c> apart.</summary>
    private static unsafe void ChannelStatistics<T>(T* first, int n, int s, long stride, out double mean, out double variance)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        double count = (double)n * s;
        double shift = double.CreateTruncating(first[0]);
        double sum = 0, sumOfSquares = 0;
        for (int i = 0; i < n; i++)
        {
            ChannelOps.AddShiftedSums(new ReadOnlySpan<T>(first + i * stride, s), shift, ref sum, ref sumOfSquares);
        }

        double d = sum / count;
        mean = shift + d;
        variance = Math.Max(sumOfSquares / count - d * d, 0);
    }
}
