using System;

namespace BatchNorm.Benchmarks;

/// <summary>
/// The baseline: batch norm as it is usually written by hand — scalar loops, channel by channel, the mean, then the
/// variance, then the normalization (sums in double, as a careful hand-written loop would).
/// </summary>
public static class Naive
{
    public static void ForwardTraining(float[] x, float[] y, BatchNormLayout layout, float[] weight, float[] bias, double epsilon, double[] mean, double[] invStd)
    {
        for (int ch = 0; ch < layout.Channels; ch++)
        {
            (double m, double variance) = ChannelStatistics(x, layout, ch);
            double inv = 1 / Math.Sqrt(variance + epsilon);
            mean[ch] = m;
            invStd[ch] = inv;
            Normalize(x, y, layout, ch, m, inv * weight[ch], bias[ch]);
        }
    }

    public static void ForwardInference(float[] x, float[] y, BatchNormLayout layout, float[] weight, float[] bias, float[] runningMean, float[] runningVariance, double epsilon)
    {
        for (int ch = 0; ch < layout.Channels; ch++)
        {
            Normalize(x, y, layout, ch, runningMean[ch], weight[ch] / Math.Sqrt(runningVariance[ch] + epsilon), bias[ch]);
        }
    }

    public static void Statistics(float[] x, BatchNormLayout layout, double[] mean, double[] variance)
    {
        for (int ch = 0; ch < layout.Channels; ch++)
        {
            (mean[ch], variance[ch]) = ChannelStatistics(x, layout, ch);
        }
    }

    public static void BackwardTraining(float[] x, float[] dy, float[] dx, BatchNormLayout layout, float[] weight, double[] mean, double[] invStd, float[] weightGradient, float[] biasGradient)
    {
        int n = layout.BatchSize, c = layout.Channels, s = layout.SpatialSize;
        double count = (double)n * s;
        for (int ch = 0; ch < c; ch++)
        {
            double sumDy = 0, sumDyXhat = 0;
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < s; j++)
                {
                    int at = (i * c + ch) * s + j;
                    sumDy += dy[at];
                    sumDyXhat += dy[at] * (x[at] - mean[ch]) * invStd[ch];
                }
            }

            weightGradient[ch] += (float)sumDyXhat;
            biasGradient[ch] += (float)sumDy;
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < s; j++)
                {
                    int at = (i * c + ch) * s + j;
                    double xhat = (x[at] - mean[ch]) * invStd[ch];
                    dx[at] = (float)(weight[ch] * invStd[ch] * (dy[at] - sumDy / count - xhat * sumDyXhat / count));
                }
            }
        }
    }

    /// <summary>One channel's mean, then its biased variance: two passes.</summary>
    private static (double Mean, double Variance) ChannelStatistics(float[] x, BatchNormLayout layout, int ch)
    {
        int n = layout.BatchSize, c = layout.Channels, s = layout.SpatialSize;
        double count = (double)n * s;
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < s; j++)
            {
                sum += x[(i * c + ch) * s + j];
            }
        }

        double mean = sum / count;
        double squares = 0;
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < s; j++)
            {
                double d = x[(i * c + ch) * s + j] - mean;
                squares += d * d;
            }
        }

        return (mean, squares / count);
    }

    private static void Normalize(float[] x, float[] y, BatchNormLayout layout, int ch, double mean, double scale, double bias)
    {
        int n = layout.BatchSize, c = layout.Channels, s = layout.SpatialSize;
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < s; j++)
            {
                int at = (i * c + ch) * s + j;
                y[at] = (float)((x[at] - mean) * scale + bias);
            }
        }
    }
}
