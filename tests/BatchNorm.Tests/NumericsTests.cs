using System;
using System.Collections.Generic;
using System.Numerics;
using Xunit;

namespace BatchNorm.Tests;

/// <summary>Accuracy of float data with a large mean or long channels, NaN and infinity, and the functional API.</summary>
public sealed class NumericsTests
{
    [Fact]
    public void ForwardAndBackward_TrainingLargeMean_MatchesReference()
    {
        // momentum null from a count of 0: factor 1, so the running statistics are the batch's own.
        var pair = new LayerPair<float>([16, 4, 64, 64], momentum: null);
        float[] x = TestData.Gaussian<float>(1, pair.Length, mean: 10000, std: 1);
        var y = new float[pair.Length];
        double[] expected = pair.Reference.Forward(TestData.ToDouble<float>(x), pair.Shape);
        pair.Layer.Forward(x, pair.Shape, y);

        Expect.CloseAbsolute<float>(expected, y, Tolerances.LargeMeanOutputAbsolute, "output");
        Expect.CloseAbsolute<float>(pair.Reference.RunningMean, pair.Layer.RunningMean, Tolerances.LargeMeanRunningMeanAbsolute, "running mean");
        for (int c = 0; c < 4; c++)
        {
            double error = Math.Abs(pair.Layer.RunningVariance[c] - pair.Reference.RunningVar[c]) / pair.Reference.RunningVar[c];
            Assert.True(error <= Tolerances.LargeOffsetVarianceRelative, $"running variance[{c}]: relative error {error:E3}.");
        }

        // dx = w * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)) must not cancel on x ~ 10000 either.
        pair.Backward(x, TestData.Gaussian<float>(2, pair.Length), new float[pair.Length]);
    }

    [Fact]
    public void Forward_DoubleLargeMean_MatchesReference()
    {
        var pair = new LayerPair<double>([8, 3, 50]);
        double[] x = TestData.Gaussian(3, pair.Length, mean: 1e6, std: 1);
        pair.Forward(x);
        pair.Backward(x, TestData.Gaussian(4, pair.Length));
    }

    [Fact]
    public void Forward_TrainingLongChannels_MatchesReference()
    {
        var pair = new LayerPair<float>([64, 2, 128, 128]);
        float[] x = TestData.Gaussian<float>(5, pair.Length, mean: 3, std: 2);
        var y = new float[pair.Length];
        double[] expected = pair.Reference.Forward(TestData.ToDouble<float>(x), pair.Shape);
        pair.Layer.Forward(x, pair.Shape, y);
        Expect.CloseAbsolute<float>(expected, y, Tolerances.LongChannelOutputAbsolute, "output");
        pair.AssertRunningStatistics();
    }

    /// <summary>
    /// A non-finite value in channel 1 (first, middle or last of the channel): in training that channel's outputs are
    /// all NaN, the others finite and as the reference; in eval only that element is non-finite. Nothing throws.
    /// </summary>
    [Theory]
    [InlineData(double.NaN, 0)]
    [InlineData(double.NaN, 1)]
    [InlineData(double.NaN, 2)]
    [InlineData(double.PositiveInfinity, 0)]
    [InlineData(double.PositiveInfinity, 1)]
    [InlineData(double.NegativeInfinity, 1)]
    [InlineData(double.NegativeInfinity, 2)]
    public void NonFiniteValueInOneChannel_PoisonsOnlyThatChannel(double value, int where)
    {
        int[] shape = [8, 3, 64, 64];
        const int S = 64 * 64;
        var pair = new LayerPair<float>(shape);
        float[] clean = TestData.Gaussian<float>(6, pair.Length, mean: 1, std: 2);
        pair.Forward(clean);

        float[] x = (float[])clean.Clone();
        int at = where switch
        {
            0 => 1 * S,                        // the channel's first value (n = 0)
            1 => (3 * 3 + 1) * S + 100,        // n = 3, in the middle
            _ => (7 * 3 + 1) * S + S - 1,      // the channel's last value
        };
        x[at] = (float)value;
        double[] expected = pair.Reference.Forward(TestData.ToDouble<float>(x), shape);
        var y = new float[pair.Length];
        pair.Layer.Forward(x, shape, y);
        AssertPoisoned(expected, y, at, channelWide: true);
        Assert.False(float.IsFinite(pair.Layer.RunningMean[1]), $"channel 1's running mean is {pair.Layer.RunningMean[1]}, expected non-finite");
        Assert.True(float.IsNaN(pair.Layer.RunningVariance[1]), $"channel 1's running variance is {pair.Layer.RunningVariance[1]}, expected NaN");
        Expect.Close<float>([pair.Reference.RunningMean[0], pair.Reference.RunningMean[2]], [pair.Layer.RunningMean[0], pair.Layer.RunningMean[2]], Tolerances.Float, "running mean");
        Expect.Close<float>([pair.Reference.RunningVar[0], pair.Reference.RunningVar[2]], [pair.Layer.RunningVariance[0], pair.Layer.RunningVariance[2]], Tolerances.Float, "running variance");

        float[] dy = TestData.Gaussian<float>(7, pair.Length);
        var dx = new float[pair.Length];
        expected = pair.Reference.Backward(TestData.ToDouble<float>(x), shape, TestData.ToDouble<float>(dy));
        pair.Layer.Backward(x, shape, dy, dx);
        AssertPoisoned(expected, dx, at, channelWide: true);

        // Eval with the clean running statistics of a fresh pair: the non-finite value stays where it is.
        var eval = new LayerPair<float>(shape);
        eval.Forward(clean);
        eval.Train(false);
        expected = eval.Reference.Forward(TestData.ToDouble<float>(x), shape);
        eval.Layer.Forward(x, shape, y);
        AssertPoisoned(expected, y, at, channelWide: false);
    }

    /// <summary>The functional API called directly, against the reference, with and without affine parameters.</summary>
    [Theory]
    [InlineData(new[] { 5, 3, 19 }, true)]
    [InlineData(new[] { 5, 3, 19 }, false)]
    [InlineData(new[] { 2, 4, 3, 11 }, true)]
    [InlineData(new[] { 8, 16, 32, 32 }, true)]
    public void Kernels_MatchReference(int[] shape, bool affine)
    {
        RunKernels<float>(shape, affine);
        RunKernels<double>(shape, affine);
    }

    private static void RunKernels<T>(int[] shape, bool affine)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        double tolerance = Tolerances.For<T>();
        var layout = BatchNormLayout.FromShape(shape);
        int length = layout.Length, channels = layout.Channels;
        var reference = new ReferenceBatchNorm(channels, 1e-3, 0.3, affine);
        T[] weight = affine ? TestData.Convert<T>(TestData.Uniform(1, channels, -1, 2)) : [];
        T[] bias = affine ? TestData.Convert<T>(TestData.Uniform(2, channels, -1, 1)) : [];
        TestData.ToDouble<T>(weight).CopyTo(reference.Weight, 0);
        TestData.ToDouble<T>(bias).CopyTo(reference.Bias, 0);
        T[] x = TestData.Gaussian<T>(3, length, mean: -4, std: 3);
        T[] dy = TestData.Gaussian<T>(4, length);
        double[] xd = TestData.ToDouble<T>(x), dyd = TestData.ToDouble<T>(dy);

        // Statistics, training forward, running update.
        double[] expectedY = reference.Forward(xd, shape);
        double[] mean = new double[channels], variance = new double[channels], invStd = new double[channels];
        BatchNormKernels.ComputeStatistics<T>(x, layout, mean, variance);
        Expect.Close<double>(reference.BatchMean, mean, tolerance, "ComputeStatistics mean");
        Expect.Close<double>(reference.BatchVar, variance, tolerance, "ComputeStatistics variance");

        var y = new T[length];
        Array.Clear(mean);
        Array.Clear(variance);
        BatchNormKernels.ForwardTraining<T>(x, y, layout, weight, bias, 1e-3, mean, variance, invStd);
        Expect.Close<T>(expectedY, y, tolerance, "ForwardTraining output");
        Expect.Close<double>(reference.BatchMean, mean, tolerance, "ForwardTraining mean");
        Expect.Close<double>(reference.BatchVar, variance, tolerance, "ForwardTraining variance");
        Expect.Close<double>(Array.ConvertAll(reference.BatchVar, v => ReferenceBatchNorm.InvStd(v, 1e-3)), invStd, tolerance, "ForwardTraining inverse std");

        T[] runningMean = new T[channels], runningVariance = new T[channels];
        runningVariance.AsSpan().Fill(T.One);
        BatchNormKernels.UpdateRunningStatistics<T>(runningMean, runningVariance, mean, variance, layout.ValuesPerChannel, 0.3);
        Expect.Close<T>(reference.RunningMean, runningMean, tolerance, "UpdateRunningStatistics mean");
        Expect.Close<T>(reference.RunningVar, runningVariance, tolerance, "UpdateRunningStatistics variance");

        // Training backward: the parameter gradients are added to what is there.
        double[] expectedDx = reference.Backward(xd, shape, dyd);
        var dx = new T[length];
        T[] weightGradient = affine ? TestData.Convert<T>(reference.WeightGrad) : [];
        T[] biasGradient = affine ? TestData.Convert<T>(reference.BiasGrad) : [];
        Expect.Close<T>(reference.WeightGrad, weightGradient, tolerance, "weight gradient before");
        weightGradient.AsSpan().Fill(T.CreateTruncating(0.25));
        biasGradient.AsSpan().Fill(T.CreateTruncating(-0.5));
        BatchNormKernels.BackwardTraining<T>(x, dy, dx, layout, weight, mean, invStd, weightGradient, biasGradient);
        Expect.Close<T>(expectedDx, dx, tolerance, "BackwardTraining gradInput");
        Expect.Close<T>(Array.ConvertAll(reference.WeightGrad, g => g + 0.25), weightGradient, tolerance, "BackwardTraining weight gradient");
        Expect.Close<T>(Array.ConvertAll(reference.BiasGrad, g => g - 0.5), biasGradient, tolerance, "BackwardTraining bias gradient");

        // Inference forward and backward with the running statistics just computed.
        reference.Training = false;
        reference.ZeroGrad();
        TestData.ToDouble<T>(runningMean).CopyTo(reference.RunningMean, 0);
        TestData.ToDouble<T>(runningVariance).CopyTo(reference.RunningVar, 0);
        expectedY = reference.Forward(xd, shape);
        BatchNormKernels.ForwardInference<T>(x, y, layout, weight, bias, runningMean, runningVariance, 1e-3);
        Expect.Close<T>(expectedY, y, tolerance, "ForwardInference output");

        expectedDx = reference.Backward(xd, shape, dyd);
        weightGradient.AsSpan().Clear();
        biasGradient.AsSpan().Clear();
        BatchNormKernels.BackwardInference<T>(x, dy, dx, layout, weight, runningMean, runningVariance, 1e-3, weightGradient, biasGradient);
        Expect.Close<T>(expectedDx, dx, tolerance, "BackwardInference gradInput");
        Expect.Close<T>(reference.WeightGrad, weightGradient, tolerance, "BackwardInference weight gradient");
        Expect.Close<T>(reference.BiasGrad, biasGradient, tolerance, "BackwardInference bias gradient");
    }

    /// <summary>
    /// Non-finite exactly where expected (at <paramref name="at"/>, or in its whole channel, as NaN, when
    /// <paramref name="channelWide"/>), finite and as the reference elsewhere.
    /// </summary>
    private static void AssertPoisoned(double[] expected, float[] actual, int at, bool channelWide)
    {
        const int C = 3, S = 64 * 64;
        int channel = at / S % C;
        var expectedRest = new List<double>();
        var actualRest = new List<float>();
        for (int i = 0; i < actual.Length; i++)
        {
            bool poisoned = channelWide ? i / S % C == channel : i == at;
            if (poisoned)
            {
                Assert.True(channelWide ? float.IsNaN(actual[i]) : !float.IsFinite(actual[i]), $"[{i}] = {actual[i]} should be non-finite.");
                Assert.True(channelWide || actual[i].Equals((float)expected[i]), $"[{i}] = {actual[i]}, expected {expected[i]}.");
            }
            else
            {
                Assert.True(float.IsFinite(actual[i]), $"[{i}] = {actual[i]} should be finite.");
                expectedRest.Add(expected[i]);
                actualRest.Add(actual[i]);
            }
        }

        Expect.Close<float>(expectedRest.ToArray(), actualRest.ToArray(), Tolerances.Float, "values outside the poisoned part");
    }
}
