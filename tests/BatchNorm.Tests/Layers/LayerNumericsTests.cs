using System;
using System.Collections.Generic;
using System.Numerics;
using Xunit;

namespace BatchNorm.Tests.Layers;

/// <summary>Layer accuracy on float data with a large mean or long channels, and with NaN and infinity.</summary>
public sealed class LayerNumericsTests
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
