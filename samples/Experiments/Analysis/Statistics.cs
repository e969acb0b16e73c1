using System;

namespace Experiments.Analysis;

/// <summary>Percentiles, norms and a least-squares line: the arithmetic the experiments' summaries need.</summary>
public static class Statistics
{
    /// <summary>The <paramref name="percent"/>th percentile of <paramref name="values"/>, linear between order statistics (numpy's default).</summary>
    public static double Percentile(ReadOnlySpan<double> values, double percent)
    {
        double[] sorted = values.ToArray();
        Array.Sort(sorted);
        double position = percent / 100 * (sorted.Length - 1);
        int below = (int)Math.Floor(position);
        int above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + ((position - below) * (sorted[above] - sorted[below]));
    }

    /// <summary>The Euclidean norm, accumulated in double.</summary>
    public static double Norm(ReadOnlySpan<float> values)
    {
        double sum = 0;
        foreach (float v in values)
        {
            sum += (double)v * v;
        }

        return Math.Sqrt(sum);
    }

    /// <summary>The Euclidean norm of a - b, accumulated in double.</summary>
    public static double Distance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = (double)a[i] - b[i];
            sum += d * d;
        }

        return Math.Sqrt(sum);
    }

    /// <summary>The dot product, accumulated in double.</summary>
    public static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sum += (double)a[i] * b[i];
        }

        return sum;
    }

    /// <summary>The least-squares line y = intercept + slope * x.</summary>
    public static (double Intercept, double Slope) FitLine(ReadOnlySpan<double> xs, ReadOnlySpan<double> ys)
    {
        double meanX = 0, meanY = 0;
        for (int i = 0; i < xs.Length; i++)
        {
            meanX += xs[i];
            meanY += ys[i];
        }

        meanX /= xs.Length;
        meanY /= xs.Length;
        double sxy = 0, sxx = 0;
        for (int i = 0; i < xs.Length; i++)
        {
            sxy += (xs[i] - meanX) * (ys[i] - meanY);
            sxx += (xs[i] - meanX) * (xs[i] - meanX);
        }

        double slope = sxy / sxx;
        return (meanY - (slope * meanX), slope);
    }
}
