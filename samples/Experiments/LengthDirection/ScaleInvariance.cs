using System;
using BatchNorm;
using BatchNorm.Samples.Network;
using Experiments.Data;

namespace Experiments.LengthDirection;

/// <summary>BN(αWx) against BN(Wx) on one batch: the largest absolute difference of the outputs, for each α and two epsilons.</summary>
public static class ScaleInvariance
{
    /// <summary>The largest |BN(αWx) − BN(Wx)| over the batch, for each α: with PyTorch's epsilon (1e-5) and with epsilon 0.</summary>
    public static (double[] DefaultEpsilon, double[] ZeroEpsilon) Measure(LabeledData data, int batchSize, int hidden, double[] alphas, int seed)
    {
        var sampler = new BatchSampler(data, batchSize, seed);
        sampler.Next();
        var withDefault = new double[alphas.Length];
        var withZero = new double[alphas.Length];
        for (int i = 0; i < alphas.Length; i++)
        {
            withDefault[i] = MaxDifference(sampler.Features, batchSize, data.FeatureCount, hidden, alphas[i], 1e-5, seed);
            withZero[i] = MaxDifference(sampler.Features, batchSize, data.FeatureCount, hidden, alphas[i], 0, seed);
        }

        return (withDefault, withZero);
    }

    private static double MaxDifference(float[] x, int batch, int inputs, int hidden, double alpha, double epsilon, int seed)
    {
        // The same He-initialized W twice; the second scaled by α (its bias is 0, so that is α(Wx + b)).
        var linear = new Linear(inputs, hidden, new Random(seed));
        var scaled = new Linear(inputs, hidden, new Random(seed));
        Span<float> weight = scaled.Weight;
        for (int i = 0; i < weight.Length; i++)
        {
            weight[i] = (float)(alpha * weight[i]);
        }

        float[] y = Normalized(linear, x, batch, hidden, epsilon);
        float[] yScaled = Normalized(scaled, x, batch, hidden, epsilon);
        double max = 0;
        for (int i = 0; i < y.Length; i++)
        {
            max = Math.Max(max, Math.Abs((double)y[i] - yScaled[i]));
        }

        return max;
    }

    private static float[] Normalized(Linear linear, float[] x, int batch, int hidden, double epsilon)
    {
        var z = new float[batch * hidden];
        var y = new float[batch * hidden];
        linear.Forward(x, batch, z);
        new BatchNorm1d<float>(hidden, epsilon).Forward(z, [batch, hidden], y);
        return y;
    }
}
