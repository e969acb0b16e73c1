using System;
using System.Linq;
using System.Numerics;
using BatchNorm.Distributed;
using Xunit;

namespace BatchNorm.Tests.Layers;

/// <summary>
/// <see cref="BatchRenormalization"/>: values worked by hand, a double reference of Ioffe's formulas over steps whose
/// RMax and DMax change (the warm-up), central differences of the forward with r and d held constant for the input and
/// weight gradients, the plain layer when RMax = 1 and DMax = 0, and the error contract.
/// </summary>
public abstract class LayerRenormalizationTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [Fact]
    public void KnownValues_WorkedByHand()
    {
        // x = 1, 3: μ_B = 2, σ_B = 1 (epsilon 0). Running (0, 1): σ = 1, r = 1, d = clip(2, ±0.5) = 0.5, y = x − 2 + 0.5.
        var layer = new BatchNorm1d<T>(1, epsilon: 0) { Renormalization = new BatchRenormalization { RMax = 1.5, DMax = 0.5 } };
        T[] y = new T[2];
        layer.Forward(TestData.Values<T>(1, 3), [2, 1], y);
        Expect.Known(-0.5, y[0], "y[0]");
        Expect.Known(1.5, y[1], "y[1]");
        Expect.Known(0.2, layer.RunningMean[0], "running mean");      // 0.9·0 + 0.1·2
        Expect.Known(1.1, layer.RunningVariance[0], "running variance"); // 0.9·1 + 0.1·2 (unbiased)

        // Running (0, 4): σ = 2, r = clip(1/2, 1/1.5, 1.5) = 2/3, d = clip(2/2, ±0.5) = 0.5: y = (x − 2)·2/3 + 0.5.
        layer.RunningMean[0] = T.Zero;
        layer.RunningVariance[0] = T.CreateTruncating(4.0);
        layer.Forward(TestData.Values<T>(1, 3), [2, 1], y);
        Expect.Known(-2.0 / 3 + 0.5, y[0], "y[0]");
        Expect.Known(2.0 / 3 + 0.5, y[1], "y[1]");
    }

    [Fact]
    public void Steps_WithAWarmUp_MatchTheReference()
    {
        int[] shape = [6, 4, 5];
        var layer = new BatchNorm1d<T>(4) { Renormalization = new BatchRenormalization() };
        T[] weight = TestData.Convert<T>(TestData.Uniform(1, 4, 0.5, 2)), bias = TestData.Convert<T>(TestData.Uniform(2, 4, -1, 1));
        weight.CopyTo(layer.Weight);
        bias.CopyTo(layer.Bias);
        var reference = new RenormReference(TestData.ToDouble<T>(weight), TestData.ToDouble<T>(bias));
        for (int step = 0; step < 5; step++)
        {
            layer.Renormalization!.RMax = 1 + (0.5 * step);
            layer.Renormalization.DMax = 0.25 * step;
            T[] x = TestData.Gaussian<T>(step, TestData.Length(shape), 1 + step, 1 + (0.3 * step)), y = new T[x.Length];
            layer.Forward(x, shape, y);
            double[] expected = reference.Forward(TestData.ToDouble<T>(x), shape, layer.Renormalization.RMax, layer.Renormalization.DMax);
            Expect.Close<T>(expected, y, Tolerances.For<T>(), $"output, step {step}");
            Expect.Close<T>(reference.RunningMean, layer.RunningMean, Tolerances.For<T>(), $"running mean, step {step}");
            Expect.Close<T>(reference.RunningVariance, layer.RunningVariance, Tolerances.For<T>(), $"running variance, step {step}");
        }
    }

    [Fact]
    public void Gradients_MatchCentralDifferences_WithRAndDHeldConstant()
    {
        int[] shape = [5, 3, 4];
        int length = TestData.Length(shape);
        var layer = new BatchNorm1d<double>(3) { Renormalization = new BatchRenormalization { RMax = 1.2, DMax = 0.3 } };
        double[] weight = TestData.Uniform(3, 3, 0.5, 2), bias = TestData.Uniform(4, 3, -1, 1);
        weight.CopyTo(layer.Weight);
        bias.CopyTo(layer.Bias);
        TestData.Uniform(5, 3, -0.5, 0.5).CopyTo(layer.RunningMean);
        TestData.Uniform(6, 3, 0.5, 3).CopyTo(layer.RunningVariance);
        var reference = new RenormReference(weight, bias);
        layer.RunningMean.CopyTo(reference.RunningMean);
        layer.RunningVariance.CopyTo(reference.RunningVariance);
        double[] x = TestData.Gaussian(7, length, 2, 1.5), g = TestData.Gaussian(8, length), dx = new double[length];
        layer.Forward(x, shape, new double[length]);
        reference.Forward(x, shape, 1.2, 0.3);
        layer.Backward(x, shape, g, dx);

        // Loss Σ g·y with the forward's r and d frozen; central differences in x and in the weight.
        const double h = 1e-6;
        for (int i = 0; i < length; i++)
        {
            double[] plus = (double[])x.Clone(), minus = (double[])x.Clone();
            plus[i] += h;
            minus[i] -= h;
            double numeric = (reference.Loss(plus, shape, g, weight) - reference.Loss(minus, shape, g, weight)) / (2 * h);
            Assert.True(Math.Abs(numeric - dx[i]) <= 1e-6 * Math.Max(1, Math.Abs(numeric)), $"dx[{i}]: numeric {numeric:R}, analytic {dx[i]:R}");
        }

        for (int c = 0; c < 3; c++)
        {
            double[] plus = (double[])weight.Clone(), minus = (double[])weight.Clone();
            plus[c] += h;
            minus[c] -= h;
            double numeric = (reference.Loss(x, shape, g, plus) - reference.Loss(x, shape, g, minus)) / (2 * h);
            Assert.True(Math.Abs(numeric - layer.WeightGradient[c]) <= 1e-6 * Math.Max(1, Math.Abs(numeric)), $"weight gradient[{c}]: numeric {numeric:R}, analytic {layer.WeightGradient[c]:R}");
        }
    }

    [Theory]
    [InlineData(new[] { 6, 4, 5 })]
    [InlineData(new[] { 4, 3, 40, 40 })]
    [InlineData(new[] { 64, 8 })]
    public void TheFusedPass_AndTheStatisticsFirstPath_GiveTheSameResults(int[] shape)
    {
        // The fused pass serves every policy but Throw, which takes the statistics first to refuse a non-finite batch.
        BatchNormBase<T> first = Renormalized(shape), checkedFirst = Renormalized(shape);
        checkedFirst.NonFiniteStatisticsPolicy = NonFiniteStatisticsPolicy.Throw;
        int length = TestData.Length(shape);
        for (int step = 0; step < 3; step++)
        {
            T[] x = TestData.Gaussian<T>(step, length, 2 + step, 1 + step), y1 = new T[length], y2 = new T[length];
            first.Forward(x, shape, y1);
            checkedFirst.Forward(x, shape, y2);
            Expect.Close<T>(TestData.ToDouble<T>(y1), y2, Tolerances.For<T>(), $"output, step {step}");
            Expect.BitwiseEqual<T>(first.RunningVariance, checkedFirst.RunningVariance, $"running variance, step {step}");
        }

        T[] poisoned = TestData.Gaussian<T>(9, length);
        poisoned[0] = T.NaN;
        T[] mean = checkedFirst.RunningMean.ToArray();
        Assert.Throws<ArgumentException>(() => checkedFirst.Forward(poisoned, shape, new T[length]));
        Expect.BitwiseEqual<T>(mean, checkedFirst.RunningMean, "running mean after a refused batch");
    }

    [Fact]
    public void RMaxOneAndDMaxZero_IsPlainBatchNorm()
    {
        int[] shape = [8, 3, 6];
        BatchNormBase<T> renormalized = new BatchNorm1d<T>(3) { Renormalization = new BatchRenormalization() }, plain = new BatchNorm1d<T>(3);
        T[] x = TestData.Gaussian<T>(1, 144, 3, 2), dy = TestData.Gaussian<T>(2, 144);
        T[] y1 = new T[144], y2 = new T[144], dx1 = new T[144], dx2 = new T[144];
        renormalized.Forward(x, shape, y1);
        plain.Forward(x, shape, y2);
        renormalized.Backward(x, shape, dy, dx1);
        plain.Backward(x, shape, dy, dx2);
        Expect.Close<T>(TestData.ToDouble<T>(y2), y1, Tolerances.For<T>(), "output");
        Expect.Close<T>(TestData.ToDouble<T>(dx2), dx1, Tolerances.For<T>(), "gradInput");
        Expect.Close<T>(TestData.ToDouble<T>(plain.WeightGradient), renormalized.WeightGradient, Tolerances.For<T>(), "weight gradient");
        Expect.BitwiseEqual<T>(plain.RunningVariance, renormalized.RunningVariance, "running variance");
    }

    [Fact]
    public void Misuse_ThrowsClearly()
    {
        var settings = new BatchRenormalization();
        Assert.Throws<ArgumentOutOfRangeException>(() => settings.RMax = 0.5);
        Assert.Throws<ArgumentOutOfRangeException>(() => settings.DMax = -1);
        Assert.Throws<ArgumentOutOfRangeException>(() => settings.RMax = double.NaN);
        Assert.Equal((1.0, 0.0), (settings.RMax, settings.DMax));
        Assert.Throws<InvalidOperationException>(() => new BatchNorm1d<T>(3, trackRunningStatistics: false).Renormalization = settings);

        var layer = new BatchNorm1d<T>(3) { Renormalization = settings };
        T[] x = TestData.Gaussian<T>(1, 12), y = new T[12];
        layer.Forward(x, [4, 3], y);
        Assert.Throws<NotSupportedException>(() => layer.BackwardFromOutput(y, [4, 3], x, new T[12]));

        using var group = new InProcessCommunicatorGroup(1);
        layer.Communicator = group.Communicators[0];
        long tracked = layer.NumBatchesTracked;
        Assert.Throws<NotSupportedException>(() => layer.Forward(x, [4, 3], y));
        Assert.Equal(tracked, layer.NumBatchesTracked);
    }

    private static BatchNormBase<T> Renormalized(int[] shape)
    {
        BatchNormBase<T> layer = TestData.CreateLayer<T>(shape.Length, shape[1]);
        layer.Renormalization = new BatchRenormalization { RMax = 1.5, DMax = 0.5 };
        return layer;
    }

    /// <summary>Ioffe's batch renormalization in double, from the paper's formulas; the loss Σ g·y with r and d frozen.</summary>
    private sealed class RenormReference(double[] weight, double[] bias)
    {
        private double[] _r = [];
        private double[] _d = [];

        public double[] RunningMean { get; } = new double[weight.Length];

        public double[] RunningVariance { get; } = [.. new double[weight.Length].Select(_ => 1.0)];

        public double[] Forward(double[] x, int[] shape, double rMax, double dMax)
        {
            int channels = weight.Length;
            (double[] mean, double[] variance) = Statistics(x, shape);
            _r = new double[channels];
            _d = new double[channels];
            for (int c = 0; c < channels; c++)
            {
                double sigma = Math.Sqrt(RunningVariance[c] + 1e-5), batchSigma = Math.Sqrt(variance[c] + 1e-5);
                _r[c] = Math.Clamp(batchSigma / sigma, 1 / rMax, rMax);
                _d[c] = Math.Clamp((mean[c] - RunningMean[c]) / sigma, -dMax, dMax);
            }

            double[] y = Apply(x, shape, weight, mean, variance);
            long m = x.Length / channels;
            for (int c = 0; c < channels; c++)
            {
                RunningMean[c] = (0.9 * RunningMean[c]) + (0.1 * mean[c]);
                RunningVariance[c] = (0.9 * RunningVariance[c]) + (0.1 * variance[c] * m / (m - 1));
            }

            return y;
        }

        public double Loss(double[] x, int[] shape, double[] g, double[] gamma)
        {
            (double[] mean, double[] variance) = Statistics(x, shape);
            double[] y = Apply(x, shape, gamma, mean, variance);
            double loss = 0;
            for (int i = 0; i < y.Length; i++)
            {
                loss += g[i] * y[i];
            }

            return loss;
        }

        private double[] Apply(double[] x, int[] shape, double[] gamma, double[] mean, double[] variance)
        {
            (int n, int channels, int s) = ReferenceBatchNorm.View(shape);
            var y = new double[x.Length];
            for (int i = 0; i < n; i++)
            {
                for (int c = 0; c < channels; c++)
                {
                    for (int j = 0; j < s; j++)
                    {
                        int at = ((i * channels) + c) * s + j;
                        double xhat = (x[at] - mean[c]) / Math.Sqrt(variance[c] + 1e-5);
                        y[at] = ((xhat * _r[c]) + _d[c]) * gamma[c] + bias[c];
                    }
                }
            }

            return y;
        }

        private static (double[] Mean, double[] Variance) Statistics(double[] x, int[] shape)
        {
            var reference = new ReferenceBatchNorm(shape[1], momentum: 1);
            reference.Forward(x, shape);
            return (reference.BatchMean, reference.BatchVar);
        }
    }
}

public sealed class LayerRenormalizationTestsFloat : LayerRenormalizationTests<float>;

public sealed class LayerRenormalizationTestsDouble : LayerRenormalizationTests<double>;
