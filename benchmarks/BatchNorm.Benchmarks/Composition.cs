using System;
using System.Numerics.Tensors;

namespace BatchNorm.Benchmarks;

/// <summary>
/// The second baseline: batch norm as a .NET user would compose it from <see cref="TensorPrimitives"/> alone. On
/// <c>(N, C, S)</c> data it works channel by channel, like <see cref="Naive"/>: for each sample's run of <c>S</c>
/// values, <c>Sum</c> and <c>SumOfSquares</c> added into double channel totals, the biased variance as
/// <c>Σx²/M − mean²</c> (clamped at 0), then one <c>FusedMultiplyAdd(xRun, scale, shifts, yRun)</c> per run, with a
/// buffer filled with the shift (there is no span-scalar-scalar multiply-add). The backward takes <c>Sum(dy)</c> and
/// <c>Dot(dy, x)</c> per run and writes <c>dx = dy * a + x * k + d</c> as two multiply-adds per run. On <c>(N, C)</c> data (<c>S = 1</c>) it works on whole rows:
/// float row accumulators (<c>Add</c>, <c>FusedMultiplyAdd(row, row, acc, acc)</c>) and one span-span-span
/// <c>FusedMultiplyAdd</c> per row. Scratch space comes from <see cref="CompositionBuffers"/>.
/// </summary>
public static class Composition
{
    public static void ForwardTraining(float[] x, float[] y, BatchNormLayout layout, float[] weight, float[] bias, double epsilon, double[] mean, double[] invStd, CompositionBuffers buffers)
    {
        if (layout.SpatialSize == 1)
        {
            RowStatistics(x, layout, mean, buffers.Variance, buffers);
            for (int ch = 0; ch < layout.Channels; ch++)
            {
                invStd[ch] = 1 / Math.Sqrt(buffers.Variance[ch] + epsilon);
                SetRowAffine(buffers, ch, mean[ch], weight[ch] * invStd[ch], bias[ch]);
            }

            NormalizeRows(x, y, layout, buffers);
            return;
        }

        for (int ch = 0; ch < layout.Channels; ch++)
        {
            (double m, double variance) = ChannelStatistics(x, layout, ch);
            mean[ch] = m;
            invStd[ch] = 1 / Math.Sqrt(variance + epsilon);
            NormalizeChannel(x, y, layout, ch, m, weight[ch] * invStd[ch], bias[ch], buffers);
        }
    }

    public static void ForwardInference(float[] x, float[] y, BatchNormLayout layout, float[] weight, float[] bias, float[] runningMean, float[] runningVariance, double epsilon, CompositionBuffers buffers)
    {
        if (layout.SpatialSize == 1)
        {
            for (int ch = 0; ch < layout.Channels; ch++)
            {
                SetRowAffine(buffers, ch, runningMean[ch], weight[ch] / Math.Sqrt(runningVariance[ch] + epsilon), bias[ch]);
            }

            NormalizeRows(x, y, layout, buffers);
            return;
        }

        for (int ch = 0; ch < layout.Channels; ch++)
        {
            NormalizeChannel(x, y, layout, ch, runningMean[ch], weight[ch] / Math.Sqrt(runningVariance[ch] + epsilon), bias[ch], buffers);
        }
    }

    public static void Statistics(float[] x, BatchNormLayout layout, double[] mean, double[] variance, CompositionBuffers buffers)
    {
        if (layout.SpatialSize == 1)
        {
            RowStatistics(x, layout, mean, variance, buffers);
            return;
        }

        for (int ch = 0; ch < layout.Channels; ch++)
        {
            (mean[ch], variance[ch]) = ChannelStatistics(x, layout, ch);
        }
    }

    public static void BackwardTraining(float[] x, float[] dy, float[] dx, BatchNormLayout layout, float[] weight, double[] mean, double[] invStd, float[] weightGradient, float[] biasGradient, CompositionBuffers buffers)
    {
        if (layout.SpatialSize == 1)
        {
            BackwardRows(x, dy, dx, layout, weight, mean, invStd, weightGradient, biasGradient, buffers);
            return;
        }

        int n = layout.BatchSize, c = layout.Channels, s = layout.SpatialSize;
        for (int ch = 0; ch < c; ch++)
        {
            double sumDy = 0, sumDyX = 0;
            for (int i = 0; i < n; i++)
            {
                ReadOnlySpan<float> dyRun = dy.AsSpan((i * c + ch) * s, s);
                sumDy += TensorPrimitives.Sum(dyRun);
                sumDyX += TensorPrimitives.Dot(dyRun, x.AsSpan((i * c + ch) * s, s));
            }

            (float a, float k, float d) = GradientConstants(sumDy, sumDyX, (double)n * s, mean[ch], invStd[ch], weight[ch], ref weightGradient[ch], ref biasGradient[ch]);
            Span<float> constant = buffers.RunConstant.AsSpan(0, s), work = buffers.Work.AsSpan(0, s);
            constant.Fill(d);
            for (int i = 0; i < n; i++)
            {
                int at = (i * c + ch) * s;
                TensorPrimitives.FusedMultiplyAdd(x.AsSpan(at, s), k, constant, work);
                TensorPrimitives.FusedMultiplyAdd(dy.AsSpan(at, s), a, work, dx.AsSpan(at, s));
            }
        }
    }

    /// <summary>
    /// The backward on <c>(N, C)</c> data, with rows: float row sums of <c>dy</c> and <c>dy·x</c>, then two row passes.
    /// </summary>
    private static void BackwardRows(float[] x, float[] dy, float[] dx, BatchNormLayout layout, float[] weight, double[] mean, double[] invStd, float[] weightGradient, float[] biasGradient, CompositionBuffers buffers)
    {
        int n = layout.BatchSize, c = layout.Channels;
        Span<float> sums = buffers.RowSum.AsSpan(0, c), products = buffers.RowSumOfProducts.AsSpan(0, c);
        sums.Clear();
        products.Clear();
        for (int i = 0; i < n; i++)
        {
            TensorPrimitives.Add(dy.AsSpan(i * c, c), sums, sums);
            TensorPrimitives.FusedMultiplyAdd(dy.AsSpan(i * c, c), x.AsSpan(i * c, c), products, products);
        }

        for (int ch = 0; ch < c; ch++)
        {
            (buffers.RowScale[ch], buffers.RowSlope[ch], buffers.RowShift[ch]) =
                GradientConstants(sums[ch], products[ch], n, mean[ch], invStd[ch], weight[ch], ref weightGradient[ch], ref biasGradient[ch]);
        }

        Span<float> work = buffers.Work.AsSpan(0, c);
        for (int i = 0; i < n; i++)
        {
            TensorPrimitives.FusedMultiplyAdd(x.AsSpan(i * c, c), buffers.RowSlope.AsSpan(0, c), buffers.RowShift.AsSpan(0, c), work);
            TensorPrimitives.FusedMultiplyAdd(dy.AsSpan(i * c, c), buffers.RowScale.AsSpan(0, c), work, dx.AsSpan(i * c, c));
        }
    }

    /// <summary>
    /// One channel's parameter gradients (accumulated) and the constants of <c>dx = dy * a + x * k + d</c>, from
    /// <c>Σdy</c> and <c>Σdy·x</c>.
    /// </summary>
    private static (float A, float K, float D) GradientConstants(double sumDy, double sumDyX, double count, double mean, double invStd, float weight, ref float weightGradient, ref float biasGradient)
    {
        double sumDyXhat = (sumDyX - mean * sumDy) * invStd;
        weightGradient += (float)sumDyXhat;
        biasGradient += (float)sumDy;
        double a = weight * invStd;
        double k = -a * invStd * sumDyXhat / count;
        return ((float)a, (float)k, (float)(-a * sumDy / count - k * mean));
    }

    /// <summary>
    /// One channel's mean and biased variance: per run <c>Sum</c> and <c>SumOfSquares</c>, totals in double.
    /// </summary>
    private static (double Mean, double Variance) ChannelStatistics(float[] x, BatchNormLayout layout, int ch)
    {
        int n = layout.BatchSize, c = layout.Channels, s = layout.SpatialSize;
        double sum = 0, squares = 0;
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<float> run = x.AsSpan((i * c + ch) * s, s);
            sum += TensorPrimitives.Sum(run);
            squares += TensorPrimitives.SumOfSquares(run);
        }

        double count = (double)n * s;
        double mean = sum / count;
        return (mean, Math.Max(squares / count - mean * mean, 0));
    }

    /// <summary>Every channel's mean and biased variance over rows: float row accumulators, then double.</summary>
    private static void RowStatistics(float[] x, BatchNormLayout layout, double[] mean, double[] variance, CompositionBuffers buffers)
    {
        int n = layout.BatchSize, c = layout.Channels;
        Span<float> sums = buffers.RowSum.AsSpan(0, c), squares = buffers.RowSumOfProducts.AsSpan(0, c);
        sums.Clear();
        squares.Clear();
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<float> row = x.AsSpan(i * c, c);
            TensorPrimitives.Add(row, sums, sums);
            TensorPrimitives.FusedMultiplyAdd(row, row, squares, squares);
        }

        for (int ch = 0; ch < c; ch++)
        {
            double m = (double)sums[ch] / n;
            mean[ch] = m;
            variance[ch] = Math.Max((double)squares[ch] / n - m * m, 0);
        }
    }

    /// <summary><c>y = x * scale + (bias − mean * scale)</c> over one channel: one multiply-add per run.</summary>
    private static void NormalizeChannel(float[] x, float[] y, BatchNormLayout layout, int ch, double mean, double scale, double bias, CompositionBuffers buffers)
    {
        int n = layout.BatchSize, c = layout.Channels, s = layout.SpatialSize;
        Span<float> shifts = buffers.RunConstant.AsSpan(0, s);
        shifts.Fill((float)(bias - mean * scale));
        for (int i = 0; i < n; i++)
        {
            int at = (i * c + ch) * s;
            TensorPrimitives.FusedMultiplyAdd(x.AsSpan(at, s), (float)scale, shifts, y.AsSpan(at, s));
        }
    }

    /// <summary>Sets channel <paramref name="ch"/> of the scale and shift rows.</summary>
    private static void SetRowAffine(CompositionBuffers buffers, int ch, double mean, double scale, double bias)
    {
        buffers.RowScale[ch] = (float)scale;
        buffers.RowShift[ch] = (float)(bias - mean * scale);
    }

    /// <summary><c>y = x * scaleRow + shiftRow</c>, one span-span-span multiply-add per row.</summary>
    private static void NormalizeRows(float[] x, float[] y, BatchNormLayout layout, CompositionBuffers buffers)
    {
        int n = layout.BatchSize, c = layout.Channels;
        ReadOnlySpan<float> scale = buffers.RowScale.AsSpan(0, c), shift = buffers.RowShift.AsSpan(0, c);
        for (int i = 0; i < n; i++)
        {
            TensorPrimitives.FusedMultiplyAdd(x.AsSpan(i * c, c), scale, shift, y.AsSpan(i * c, c));
        }
    }
}
