using System;
using System.Numerics;
using Xunit;

namespace BatchNorm.Tests.Layers;

/// <summary>
/// The running-variance estimator and the framework conventions: known values worked by hand, and a Keras
/// <c>BatchNormalization</c> written in the test from Keras's own formulas (moving = moving·momentum + batch·(1 − momentum),
/// the biased variance, epsilon 1e-3) as the oracle of <see cref="BatchNormConvention.Keras"/>.
/// </summary>
public abstract class LayerConventionTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [Fact]
    public void BiasedEstimator_BlendsTheBiasedVariance_KnownValues()
    {
        // One channel, x = 1, 2, 3, 4: mean 2.5, biased variance 1.25, unbiased 5/3. With momentum 0.1 from (0, 1):
        // running mean 0.25; running variance 0.9 + 0.125 = 1.025 (biased), 0.9 + 1/6 = 1.0666… (unbiased).
        var biased = new BatchNorm1d<T>(1) { RunningVarianceEstimator = RunningVarianceEstimator.Biased };
        var unbiased = new BatchNorm1d<T>(1);
        T[] x = TestData.Values<T>(1, 2, 3, 4), y = new T[4];
        biased.Forward(x, [4, 1], y);
        unbiased.Forward(x, [4, 1], y);
        Expect.Known(0.25, biased.RunningMean[0], "running mean");
        Expect.Known(1.025, biased.RunningVariance[0], "biased running variance");
        Expect.Known(0.9 + (0.1 * 5 / 3), unbiased.RunningVariance[0], "unbiased running variance");
    }

    [Fact]
    public void BiasedEstimator_AcceptsOneValuePerChannel_InTheFunctionalApi()
    {
        T[] mean = [T.Zero], variance = [T.One];
        BatchNormKernels.UpdateRunningStatistics<T>(mean, variance, [2.0], [0.0], 1, 0.5, RunningVarianceEstimator.Biased);
        Expect.Known(1.0, mean[0], "running mean");
        Expect.Known(0.5, variance[0], "running variance");
        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            BatchNormKernels.UpdateRunningStatistics<T>(new T[1], new T[1], [2.0], [0.0], 1, 0.5, RunningVarianceEstimator.Unbiased));
        Assert.Equal("valuesPerChannel", error.ParamName);
        Assert.Equal("estimator", Assert.Throws<ArgumentOutOfRangeException>(() =>
            BatchNormKernels.UpdateRunningStatistics<T>(new T[1], new T[1], [2.0], [0.0], 2, 0.5, (RunningVarianceEstimator)7)).ParamName);
    }

    [Fact]
    public void KerasConvention_MatchesKerasFormulas_OverSteps()
    {
        int[] shape = [6, 3, 4, 4];
        var layer = new BatchNorm2d<T>(3, BatchNormConvention.Keras);
        Assert.Equal((1e-3, RunningVarianceEstimator.Biased), (layer.Epsilon, layer.RunningVarianceEstimator));
        Assert.Equal(0.01, layer.Momentum!.Value, 15);
        double[] movingMean = new double[3], movingVariance = [1, 1, 1];
        for (int step = 0; step < 4; step++)
        {
            T[] x = TestData.Gaussian<T>(step, TestData.Length(shape), 2, 3), y = new T[x.Length];
            layer.Forward(x, shape, y);
            double[] expected = KerasForward(TestData.ToDouble<T>(x), shape, movingMean, movingVariance);
            Expect.Close<T>(expected, y, Tolerances.For<T>(), $"output, step {step}");
        }

        Expect.Close<T>(movingMean, layer.RunningMean, Tolerances.For<T>(), "moving mean");
        Expect.Close<T>(movingVariance, layer.RunningVariance, Tolerances.For<T>(), "moving variance");
    }

    [Fact]
    public void Conventions_SayWhatTheFrameworksDefaultTo()
    {
        Assert.Equal(new BatchNormConvention(1e-5, 0.1, RunningVarianceEstimator.Unbiased), BatchNormConvention.PyTorch);
        Assert.Equal((1e-3, RunningVarianceEstimator.Biased), (BatchNormConvention.Keras.Epsilon, BatchNormConvention.Keras.Estimator));
        Assert.Equal((1e-5, RunningVarianceEstimator.Biased), (BatchNormConvention.Flax.Epsilon, BatchNormConvention.Flax.Estimator));
        Assert.Equal(0.1, BatchNormConvention.FromKeras(0.9, 1e-5).Momentum, 15);
        Assert.Equal("momentum", Assert.Throws<ArgumentOutOfRangeException>(() => BatchNormConvention.FromKeras(1.5, 1e-3)).ParamName);
        Assert.Throws<ArgumentNullException>(() => new BatchNorm3d<T>(2, null!));
        Assert.Equal("epsilon", Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNorm1d<T>(2, BatchNormConvention.PyTorch with { Epsilon = -1 })).ParamName);
        var layer = new BatchNorm1d<T>(2);
        Assert.Throws<ArgumentOutOfRangeException>(() => layer.RunningVarianceEstimator = (RunningVarianceEstimator)2);
        Assert.Equal(RunningVarianceEstimator.Unbiased, layer.RunningVarianceEstimator);
    }

    /// <summary>Keras's training call, from its formulas: normalize with the biased batch variance and epsilon 1e-3, then blend.</summary>
    private static double[] KerasForward(double[] x, int[] shape, double[] movingMean, double[] movingVariance)
    {
        const double momentum = 0.99, epsilon = 1e-3;
        (int n, int channels, int s) = ReferenceBatchNorm.View(shape);
        var y = new double[x.Length];
        for (int c = 0; c < channels; c++)
        {
            double sum = 0, squares = 0;
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < s; j++)
                {
                    sum += x[((i * channels) + c) * s + j];
                }
            }

            double mean = sum / (n * s);
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < s; j++)
                {
                    double d = x[((i * channels) + c) * s + j] - mean;
                    squares += d * d;
                }
            }

            double variance = squares / (n * s);
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < s; j++)
                {
                    int at = ((i * channels) + c) * s + j;
                    y[at] = (x[at] - mean) / Math.Sqrt(variance + epsilon);
                }
            }

            movingMean[c] = movingMean[c] * momentum + mean * (1 - momentum);
            movingVariance[c] = movingVariance[c] * momentum + variance * (1 - momentum);
        }

        return y;
    }
}

public sealed class LayerConventionTestsFloat : LayerConventionTests<float>;

public sealed class LayerConventionTestsDouble : LayerConventionTests<double>;
