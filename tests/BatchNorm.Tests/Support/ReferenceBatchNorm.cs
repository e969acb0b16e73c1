using System;

namespace BatchNorm.Tests;

/// <summary>
/// The test oracle: a plain scalar model of a PyTorch <c>BatchNorm*d</c> layer in <see cref="double"/>, written from
/// PyTorch's formulas (README.md, "PyTorch names") and not from the library. Loops only, two passes (mean, then
/// variance). Every formula the tests need is here, once: the other tests call these methods rather than restate them.
/// Data is channel-major: element <c>(n, c, s)</c> of shape <c>(N, C, d1, …)</c> is at <c>(n * C + c) * S + s</c>.
/// </summary>
public sealed class ReferenceBatchNorm
{
    private bool _usedBatchStatistics;

    public ReferenceBatchNorm(int numFeatures, double epsilon = 1e-5, double? momentum = 0.1, bool affine = true, bool track = true)
    {
        NumFeatures = numFeatures;
        Epsilon = epsilon;
        Momentum = momentum;
        Affine = affine;
        Track = track;
        Weight = new double[affine ? numFeatures : 0];
        Bias = new double[affine ? numFeatures : 0];
        WeightGrad = new double[affine ? numFeatures : 0];
        BiasGrad = new double[affine ? numFeatures : 0];
        RunningMean = new double[track ? numFeatures : 0];
        RunningVar = new double[track ? numFeatures : 0];
        ResetParameters();
    }

    public int NumFeatures { get; }

    public double Epsilon { get; }

    public double? Momentum { get; }

    public bool Affine { get; }

    public bool Track { get; }

    public double[] Weight { get; }

    public double[] Bias { get; }

    public double[] WeightGrad { get; }

    public double[] BiasGrad { get; }

    public double[] RunningMean { get; }

    public double[] RunningVar { get; }

    public long NumBatchesTracked { get; set; }

    public bool Training { get; set; } = true;

    /// <summary>The batch mean of the last Forward that used batch statistics.</summary>
    public double[] BatchMean { get; private set; } = Array.Empty<double>();

    /// <summary>The biased batch variance of the last Forward that used batch statistics.</summary>
    public double[] BatchVar { get; private set; } = Array.Empty<double>();

    /// <summary>The mean the last Forward normalized with (batch or running), which Backward differentiates.</summary>
    public double[] UsedMean { get; private set; } = Array.Empty<double>();

    /// <summary>The inverse standard deviation the last Forward normalized with.</summary>
    public double[] UsedInvStd { get; private set; } = Array.Empty<double>();

    /// <summary>1 / sqrt(var + eps), or 0 when var + eps is 0 (as PyTorch).</summary>
    public static double InvStd(double variance, double epsilon) =>
        variance + epsilon == 0 ? 0 : 1.0 / Math.Sqrt(variance + epsilon);

    /// <summary>Splits a shape (N, C, d1, …) into N, C and S = d1 * … (1 for rank 2).</summary>
    public static (int N, int C, int S) View(int[] shape)
    {
        int s = 1;
        for (int i = 2; i < shape.Length; i++)
        {
            s *= shape[i];
        }

        return (shape[0], shape[1], s);
    }

    public double[] Forward(double[] x, int[] shape)
    {
        (int n, int channels, int s) = View(shape);
        if (channels != NumFeatures || x.Length != n * channels * s)
        {
            throw new ArgumentException("Shape does not match the layer or the data.", nameof(shape));
        }

        int m = n * s;
        UsedMean = new double[channels];
        UsedInvStd = new double[channels];
        _usedBatchStatistics = Training || !Track;
        if (_usedBatchStatistics)
        {
            BatchMean = new double[channels];
            BatchVar = new double[channels];
            for (int c = 0; c < channels; c++)
            {
                double sum = 0;
                for (int i = 0; i < n; i++)
                {
                    for (int j = 0; j < s; j++)
                    {
                        sum += x[((i * channels) + c) * s + j];
                    }
                }

                // Corrected two-pass: the first mean is refined by the mean of the (exact, for nearby values)
                // deviations from it, so a large mean relative to the spread keeps double's accuracy.
                double mean = sum / m;
                double deviation = 0;
                for (int i = 0; i < n; i++)
                {
                    for (int j = 0; j < s; j++)
                    {
                        deviation += x[((i * channels) + c) * s + j] - mean;
                    }
                }

                if (double.IsFinite(deviation))
                {
                    mean += deviation / m; // (an infinite mean stays infinite, as PyTorch's)
                }

                double squares = 0;
                for (int i = 0; i < n; i++)
                {
                    for (int j = 0; j < s; j++)
                    {
                        double d = x[((i * channels) + c) * s + j] - mean;
                        squares += d * d;
                    }
                }

                BatchMean[c] = mean;
                BatchVar[c] = squares / m;
                UsedMean[c] = mean;
                UsedInvStd[c] = InvStd(BatchVar[c], Epsilon);
            }

            if (Training && Track)
            {
                NumBatchesTracked++;
                UpdateRunningStatistics(RunningMean, RunningVar, BatchMean, BatchVar, m, Momentum ?? 1.0 / NumBatchesTracked);
            }
        }
        else
        {
            for (int c = 0; c < channels; c++)
            {
                UsedMean[c] = RunningMean[c];
                UsedInvStd[c] = InvStd(RunningVar[c], Epsilon);
            }
        }

        return Normalize(x, shape, UsedMean, UsedInvStd, Weight, Bias);
    }

    /// <summary>
    /// <c>running ← (1 − f)·running + f·batch</c> per channel, the batch variance unbiased by M / (M − 1) first
    /// (<paramref name="valuesPerChannel"/> = M).
    /// </summary>
    public static void UpdateRunningStatistics(
        double[] runningMean, double[] runningVar, double[] batchMean, double[] batchVar, long valuesPerChannel, double factor)
    {
        long m = valuesPerChannel;
        double f = factor;
        for (int c = 0; c < runningMean.Length; c++)
        {
            runningMean[c] = (1 - f) * runningMean[c] + f * batchMean[c];
        }

        for (int c = 0; c < runningVar.Length; c++)
        {
            runningVar[c] = (1 - f) * runningVar[c] + f * batchVar[c] * m / (m - 1);
        }
    }

    /// <summary>
    /// <c>y = (x − mean)·invstd·w + b</c> per channel of a shape (N, C, d1, …); an empty <paramref name="weight"/> or
    /// <paramref name="bias"/> is 1 or 0.
    /// </summary>
    public static double[] Normalize(double[] x, int[] shape, double[] mean, double[] invStd, double[] weight, double[] bias)
    {
        (int n, int channels, int s) = View(shape);
        var y = new double[x.Length];
        for (int i = 0; i < n; i++)
        {
            for (int c = 0; c < channels; c++)
            {
                double w = weight.Length == 0 ? 1.0 : weight[c], b = bias.Length == 0 ? 0.0 : bias[c];
                for (int j = 0; j < s; j++)
                {
                    int at = ((i * channels) + c) * s + j;
                    y[at] = (x[at] - mean[c]) * invStd[c] * w + b;
                }
            }
        }

        return y;
    }

    /// <summary>Differentiates the last Forward (its statistics and mode) with the current weight.</summary>
    public double[] Backward(double[] x, int[] shape, double[] dy)
    {
        (double[] sumDy, double[] sumDyXhat) = GradientSums(x, shape, dy, UsedMean, UsedInvStd);
        if (Affine)
        {
            for (int c = 0; c < NumFeatures; c++)
            {
                WeightGrad[c] += sumDyXhat[c];
                BiasGrad[c] += sumDy[c];
            }
        }

        (int n, _, int s) = View(shape);
        return InputGradient(x, shape, dy, UsedMean, UsedInvStd, Weight, _usedBatchStatistics, sumDy, sumDyXhat, n * s);
    }

    /// <summary>Per channel, <c>Σ dy</c> and <c>Σ dy·x̂</c> with <c>x̂ = (x − mean)·invstd</c>: the weight and bias gradients.</summary>
    public static (double[] SumDy, double[] SumDyXhat) GradientSums(double[] x, int[] shape, double[] dy, double[] mean, double[] invStd)
    {
        (int n, int channels, int s) = View(shape);
        double[] sumDy = new double[channels], sumDyXhat = new double[channels];
        for (int c = 0; c < channels; c++)
        {
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < s; j++)
                {
                    int at = ((i * channels) + c) * s + j;
                    sumDy[c] += dy[at];
                    sumDyXhat[c] += dy[at] * (x[at] - mean[c]) * invStd[c];
                }
            }
        }

        return (sumDy, sumDyXhat);
    }

    /// <summary>
    /// The input gradient of <see cref="Normalize"/>: with batch statistics (over <paramref name="count"/> values per
    /// channel, whose sums are <paramref name="sumDy"/> and <paramref name="sumDyXhat"/>)
    /// <c>dx = w·invstd·(dy − Σdy / count − x̂·Σdy·x̂ / count)</c>; with constant statistics <c>dx = dy·w·invstd</c>.
    /// An empty <paramref name="weight"/> is 1.
    /// </summary>
    public static double[] InputGradient(
        double[] x, int[] shape, double[] dy, double[] mean, double[] invStd, double[] weight, bool batchStatistics,
        double[] sumDy, double[] sumDyXhat, double count)
    {
        (int n, int channels, int s) = View(shape);
        var dx = new double[x.Length];
        for (int c = 0; c < channels; c++)
        {
            double w = weight.Length == 0 ? 1.0 : weight[c];
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < s; j++)
                {
                    int at = ((i * channels) + c) * s + j;
                    if (batchStatistics)
                    {
                        double xhat = (x[at] - mean[c]) * invStd[c];
                        dx[at] = w * invStd[c] * (dy[at] - sumDy[c] / count - xhat * sumDyXhat[c] / count);
                    }
                    else
                    {
                        dx[at] = dy[at] * w * invStd[c];
                    }
                }
            }
        }

        return dx;
    }

    public void ResetParameters()
    {
        Array.Fill(Weight, 1.0);
        Array.Fill(Bias, 0.0);
        ResetRunningStatistics();
    }

    public void ResetRunningStatistics()
    {
        Array.Fill(RunningMean, 0.0);
        Array.Fill(RunningVar, 1.0);
        NumBatchesTracked = 0;
    }

    public void ZeroGrad()
    {
        Array.Fill(WeightGrad, 0.0);
        Array.Fill(BiasGrad, 0.0);
    }

}
