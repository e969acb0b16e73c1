using System;
using System.Numerics;
using Xunit;

namespace BatchNorm.Tests.Layers;

/// <summary>
/// Numerical extremes, each with the expected behaviour in its name. Data is rounded to the element type before the
/// double reference sees it, so both compute on the same values.
/// </summary>
public sealed class LayerNumericalExtremesTests
{
    private static readonly int[] ColumnShape = [512, 3];
    private static readonly int[] ChannelShape = [16, 3, 7, 5];

    public static TheoryData<double, int> Offsets()
    {
        var data = new TheoryData<double, int>();
        foreach (double offset in new[] { 1e3, -1e4, 1e5, 1e6, -1e7, 1e7 })
        {
            data.Add(offset, 2);
            data.Add(offset, 4);
        }

        return data;
    }

    /// <summary>Float, x = offset + N(0, 1) (offset 1e3 … 1e7): batch variance (kernel and running) within <see cref="Tolerances.LargeOffsetVarianceRelative"/> of the double reference, output within <see cref="Tolerances.LargeOffsetOutputAbsolute"/>.</summary>
    [Theory]
    [MemberData(nameof(Offsets))]
    public void LargeOffsetUnitSpread_Float_VarianceWithin1e3Relative_OutputClose(double offset, int rank)
    {
        int[] shape = rank == 2 ? ColumnShape : ChannelShape;
        float[] x = TestData.Gaussian<float>(17, TestData.Length(shape), offset, 1);
        var layout = BatchNormLayout.FromShape(shape);
        var reference = new ReferenceBatchNorm(3, 1e-5, momentum: 1.0);
        double[] expected = reference.Forward(TestData.ToDouble<float>(x), shape);

        double[] mean = new double[3], variance = new double[3];
        BatchNormKernels.ComputeStatistics<float>(x, layout, mean, variance);
        var layer = TestData.CreateLayer<float>(rank, 3, momentum: 1.0);
        var y = new float[x.Length];
        layer.Forward(x, shape, y);
        for (int c = 0; c < 3; c++)
        {
            AssertRelative(reference.BatchVar[c], variance[c], Tolerances.LargeOffsetVarianceRelative, $"ComputeStatistics variance[{c}]");
            AssertRelative(reference.RunningVar[c], layer.RunningVariance[c], Tolerances.LargeOffsetVarianceRelative, $"running variance[{c}]");
        }

        Expect.CloseAbsolute<float>(expected, y, Tolerances.LargeOffsetOutputAbsolute, $"output at offset {offset}");
    }

    /// <summary>A constant channel (zero variance) normalizes to exactly its bias, in training and eval, with finite gradients.</summary>
    [Theory]
    [InlineData(0.0, 2)]
    [InlineData(3.7, 2)]
    [InlineData(-1e6, 4)]
    [InlineData(1e30, 4)]
    [InlineData(3e38, 2)]
    [InlineData(1e-40, 4)]
    public void ConstantChannel_OutputEqualsBiasExactly_GradientsFinite(double constant, int rank)
    {
        ConstantChannel<float>(constant, rank, 1e-5);
        if (Math.Abs(constant) < 1e300)
        {
            ConstantChannel<double>(constant, rank, 1e-5);
        }
    }

    /// <summary>eps = 0 and a constant channel: the library defines invstd = 0 there (as PyTorch), so output = bias exactly, dx = 0, finite gradients.</summary>
    [Theory]
    [InlineData(0.0, 2)]
    [InlineData(-2.5, 4)]
    [InlineData(1e30, 2)]
    public void EpsZeroConstantChannel_OutputEqualsBias_GradientsFinite(double constant, int rank)
    {
        ConstantChannel<float>(constant, rank, 0);
        ConstantChannel<double>(constant, rank, 0);
    }

    /// <summary>Tiny spread: x = 1e-8·N(0, 1) (float and double, eps 1e-5 and 0) and x = 3 + 1e-8·N(0, 1) (double): statistics finite and as the reference, output within the standard tolerance.</summary>
    [Theory]
    [InlineData(0.0, 1e-5)]
    [InlineData(0.0, 0.0)]
    [InlineData(3.0, 0.0)]
    [InlineData(3.0, 1e-5)]
    public void TinySpread_StatisticsFinite_OutputMatchesReference(double offset, double epsilon)
    {
        if (offset == 0)
        {
            MatchesReference<float>(ChannelShape, offset, 1e-8, epsilon);
            MatchesReference<float>(ColumnShape, offset, 1e-8, epsilon);
        }

        MatchesReference<double>(ChannelShape, offset, 1e-8, epsilon);
        MatchesReference<double>(ColumnShape, offset, 1e-8, epsilon);
    }

    /// <summary>Float x = 1e30·N(0, 1): batch statistics (double) finite and as the reference, output as the reference; the running variance is +∞ only because 1e60 is not a float.</summary>
    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void HugeMagnitudes1e30_Float_NoSpuriousOverflow(int rank)
    {
        int[] shape = rank == 2 ? ColumnShape : ChannelShape;
        MatchesReference<float>(shape, 0, 1e30, 1e-5);
        MatchesReference<float>(shape, 5e30, 1e30, 1e-5);
    }

    /// <summary>Float data near ±float.MaxValue (values ±3.4e38 and ±3e38 in one channel): mean and variance finite in double, output finite and as the reference (x − mean may exceed float.MaxValue, y never does).</summary>
    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void NearFloatMaxValue_TrainingForwardAndBackward_NoSpuriousOverflow(int rank)
    {
        int[] shape = rank == 2 ? [8, 2] : [4, 2, 2];
        int length = TestData.Length(shape);
        var x = new float[length];
        var random = new Random(5);
        for (int i = 0; i < length; i++)
        {
            // Mostly +3.4e38, some -3e38: the mean is ~2e38, so x - mean reaches -5e38 > float.MaxValue in magnitude.
            x[i] = i % 4 == 3 ? -3e38f : 3.4e38f - (float)(random.Next(0, 100) * 1e31);
        }

        MatchesReference<float>(shape, x, 0, "x near ±float.MaxValue");
    }

    /// <summary>Eval with a huge running mean (3e38, variance 1e38) and x = -3e38: y = -6e38 / 1e19 = -6e19 is a float, so the output must not overflow to -∞ on the way.</summary>
    [Fact]
    public void NearFloatMaxValue_EvalForwardAndBackward_NoSpuriousOverflow()
    {
        var pair = new LayerPair<float>([4, 2]);
        pair.Train(false);
        foreach (var (layer, reference) in new[] { (pair.Layer, pair.Reference) })
        {
            layer.RunningMean.Fill(3e38f);
            layer.RunningVariance.Fill(1e38f);
            Array.Fill(reference.RunningMean, (double)3e38f);
            Array.Fill(reference.RunningVar, (double)1e38f);
        }

        float[] x = [-3e38f, 3e38f, 2e38f, -1e38f, 0, 1, -3.4e38f, 3.4e38f];
        var y = new float[x.Length];
        pair.Forward(x, y);
        pair.Backward(x, TestData.Gaussian<float>(1, x.Length), new float[x.Length]);
    }

    /// <summary>Subnormal float inputs (k·1e-42) with eps 1e-5: finite outputs as the reference. With eps 0 the true invstd (~1e42) exceeds float: the output must still match the reference's O(1) values.</summary>
    [Theory]
    [InlineData(1e-5, 2)]
    [InlineData(1e-5, 4)]
    [InlineData(0.0, 2)]
    [InlineData(0.0, 4)]
    public void SubnormalInputs_Float_OutputMatchesReference(double epsilon, int rank)
    {
        int[] shape = rank == 2 ? ColumnShape : ChannelShape;
        int length = TestData.Length(shape);
        var random = new Random(9);
        var x = new float[length];
        for (int i = 0; i < length; i++)
        {
            x[i] = (float)(random.Next(-1000, 1000) * 1e-42);
            Assert.True(x[i] == 0 || float.IsSubnormal(x[i]));
        }

        MatchesReference<float>(shape, x, epsilon, "subnormal x");
    }

    /// <summary>Subnormal double inputs (k·1e-310) with eps 1e-5: output as the reference (≈ x / sqrt(eps)).</summary>
    [Fact]
    public void SubnormalInputs_Double_OutputMatchesReference()
    {
        int length = TestData.Length(ChannelShape);
        var random = new Random(9);
        var x = new double[length];
        for (int i = 0; i < length; i++)
        {
            x[i] = random.Next(-1000, 1000) * 1e-310;
        }

        MatchesReference<double>(ChannelShape, x, 1e-5, "subnormal x");
    }

    /// <summary>NaN, +∞ and −∞ in the input (training forward and backward) or in dy (backward) poison that channel only: the other channels' outputs and gradients are finite and as the reference.</summary>
    [Theory]
    [InlineData(double.NaN, 2, false)]
    [InlineData(double.PositiveInfinity, 2, false)]
    [InlineData(double.NegativeInfinity, 4, false)]
    [InlineData(double.NaN, 4, true)]
    [InlineData(double.PositiveInfinity, 4, true)]
    [InlineData(double.NegativeInfinity, 2, true)]
    public void NonFiniteValues_PropagateToThatChannelOnly(double bad, int rank, bool inGradOutput)
    {
        NonFiniteOneChannel<float>(bad, rank, inGradOutput);
        NonFiniteOneChannel<double>(bad, rank, inGradOutput);
    }

    private static void NonFiniteOneChannel<T>(double bad, int rank, bool inGradOutput)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int[] shape = rank == 2 ? [70, 67] : [4, 67, 3, 5];
        const int Channel = 65;
        (int n, int channels, int s) = ReferenceBatchNorm.View(shape);
        int length = TestData.Length(shape);
        T[] x = TestData.Gaussian<T>(1, length, 1, 2);
        T[] dy = TestData.Gaussian<T>(2, length);
        int at = ((((n / 2) * channels) + Channel) * s) + (s / 2);
        (inGradOutput ? dy : x)[at] = T.CreateTruncating(bad);

        var layer = TestData.CreateLayer<T>(rank, channels);
        var clean = new LayerPair<T>(shape);
        T[] xClean = (T[])x.Clone();
        T[] dyClean = (T[])dy.Clone();
        xClean[at] = T.One;
        dyClean[at] = T.One;
        var y = new T[length];
        var dx = new T[length];
        layer.Forward(x, shape, y);
        layer.Backward(x, shape, dy, dx);
        T[] yClean = clean.Forward(xClean);
        T[] dxClean = clean.Backward(xClean, dyClean);
        for (int i = 0; i < length; i++)
        {
            bool poisoned = i / s % channels == Channel;
            if (poisoned)
            {
                if (!inGradOutput)
                {
                    Assert.True(T.IsNaN(y[i]), $"{typeof(T).Name} y[{i}] in the poisoned channel is {y[i]}, expected NaN");
                }

                Assert.False(T.IsFinite(dx[i]), $"{typeof(T).Name} dx[{i}] in the poisoned channel is {dx[i]}, expected non-finite");
            }
            else
            {
                Assert.True(y[i] == yClean[i] && dx[i] == dxClean[i], $"{typeof(T).Name} [{i}] outside the poisoned channel: y {y[i]} vs {yClean[i]}, dx {dx[i]} vs {dxClean[i]}");
            }
        }

        for (int c = 0; c < channels; c++)
        {
            bool finite = T.IsFinite(layer.WeightGradient[c]) && T.IsFinite(layer.BiasGradient[c]);
            Assert.True(c == Channel ? !finite : finite, $"{typeof(T).Name} parameter gradients of channel {c}: {layer.WeightGradient[c]}, {layer.BiasGradient[c]}");
        }
    }

    private static void ConstantChannel<T>(double constant, int rank, double epsilon)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int[] shape = rank == 2 ? [9, 3] : [3, 3, 4, 5];
        (int n, int channels, int s) = ReferenceBatchNorm.View(shape);
        int length = TestData.Length(shape);
        T[] x = TestData.Gaussian<T>(3, length, 2, 1);
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < s; j++)
            {
                x[(((i * channels) + 1) * s) + j] = T.CreateTruncating(constant);
            }
        }

        foreach (bool training in new[] { true, false })
        {
            var layer = TestData.CreateLayer<T>(rank, channels, epsilon, momentum: 1.0);
            TestData.Convert<T>([1.5, -0.75, 2]).CopyTo(layer.Weight);
            TestData.Convert<T>([0.5, 0.3, -1]).CopyTo(layer.Bias);
            var y = new T[length];
            if (!training)
            {
                layer.Forward(x, shape, y);
                layer.Eval();
            }

            layer.Forward(x, shape, y);
            T[] dy = TestData.Gaussian<T>(4, length);
            var dx = new T[length];
            layer.Backward(x, shape, dy, dx);
            string what = $"{typeof(T).Name} constant {constant}, eps {epsilon}, {(training ? "training" : "eval")}, shape [{string.Join(", ", shape)}]";
            double sumDy = 0;
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < s; j++)
                {
                    int at = (((i * channels) + 1) * s) + j;
                    Assert.True(y[at] == layer.Bias[1], $"{what}: y[{at}] = {y[at]}, expected the bias {layer.Bias[1]} exactly");
                    Assert.True(T.IsFinite(dx[at]), $"{what}: dx[{at}] = {dx[at]}");
                    sumDy += double.CreateTruncating(dy[at]);
                }
            }

            Assert.True(T.IsFinite(layer.WeightGradient[1]) && T.IsFinite(layer.BiasGradient[1]), $"{what}: parameter gradients {layer.WeightGradient[1]}, {layer.BiasGradient[1]}");
            Expect.Close<T>([sumDy], [layer.BiasGradient[1]], Tolerances.For<T>(), $"{what}: bias gradient", n * s);
            if (epsilon == 0 && training)
            {
                Assert.True(layer.WeightGradient[1] == T.Zero, $"{what}: weight gradient {layer.WeightGradient[1]}, expected 0 (invstd 0)");
            }
        }
    }

    private static void MatchesReference<T>(int[] shape, double offset, double spread, double epsilon)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        MatchesReference(shape, TestData.Gaussian<T>(21, TestData.Length(shape), offset, spread), epsilon, $"x = {offset} + {spread}·N(0, 1)");

    /// <summary>
    /// Statistics finite and as the reference; running statistics as the reference rounded to T (+∞ only where the
    /// reference's value is beyond T's range; within T's smallest subnormal where it is below its normal range); output
    /// and gradients as the reference within the standard tolerances, and finite.
    /// </summary>
    private static void MatchesReference<T>(int[] shape, T[] x, double epsilon, string data)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int length = x.Length;
        var layout = BatchNormLayout.FromShape(shape);
        double[] mean = new double[shape[1]], variance = new double[shape[1]];
        BatchNormKernels.ComputeStatistics<T>(x, layout, mean, variance);
        var pair = new LayerPair<T>(shape, epsilon);
        pair.RandomizeParameters(2);
        var y = new T[length];
        double[] expected = pair.Reference.Forward(TestData.ToDouble<T>(x), shape);
        pair.Layer.Forward(x, shape, y);
        string what = $"{typeof(T).Name} {data}, eps {epsilon}, shape [{string.Join(", ", shape)}]";
        for (int c = 0; c < shape[1]; c++)
        {
            Assert.True(double.IsFinite(mean[c]) && double.IsFinite(variance[c]), $"{what}: statistics of channel {c}: {mean[c]}, {variance[c]}");
            AssertRelative(pair.Reference.BatchVar[c], variance[c], Tolerances.ExtremeVariance<T>(), $"{what}: variance[{c}]");
            AssertRunning(pair.Reference.RunningMean[c], pair.Layer.RunningMean[c], $"{what}: running mean[{c}]");
            AssertRunning(pair.Reference.RunningVar[c], pair.Layer.RunningVariance[c], $"{what}: running variance[{c}]");
        }

        foreach (T v in y)
        {
            Assert.True(T.IsFinite(v), $"{what}: output {v} should be finite");
        }

        Expect.Close<T>(expected, y, Tolerances.For<T>(), $"{what}: output");
        T[] dy = TestData.Gaussian<T>(22, length);
        double[] expectedDx = pair.Reference.Backward(TestData.ToDouble<T>(x), shape, TestData.ToDouble<T>(dy));
        var dx = new T[length];
        pair.Layer.Backward(x, shape, dy, dx);
        double maxFactor = 0;
        for (int c = 0; c < shape[1]; c++)
        {
            maxFactor = Math.Max(maxFactor, Math.Abs(pair.Reference.Weight[c] * pair.Reference.UsedInvStd[c]));
        }

        // dx is finite wherever the true value is a T (with subnormal x and eps = 0 in float, w·invstd ≈ 1e39 and the
        // true dx itself exceeds float.MaxValue: there ±∞ is the correctly rounded result).
        double scale = Math.Min(maxFactor * Tolerances.RoundingMargin, typeof(T) == typeof(float) ? float.MaxValue : double.MaxValue);
        for (int i = 0; i < length; i++)
        {
            T rounded = T.CreateTruncating(expectedDx[i]);
            if (!T.IsFinite(rounded))
            {
                Assert.True(rounded.Equals(dx[i]), $"{what}: gradInput[{i}] = {dx[i]}, expected {rounded} (the true {expectedDx[i]:R} is beyond the type's range)");
            }
            else
            {
                Expect.Close<T>([expectedDx[i]], [dx[i]], Tolerances.For<T>(), $"{what}: gradInput[{i}]", scale);
            }
        }
    }

    private static void AssertRunning<T>(double expected, T actual, string what)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T rounded = T.CreateTruncating(expected);
        if (!T.IsFinite(rounded))
        {
            Assert.True(rounded.Equals(actual), $"{what}: expected {rounded} ({expected:R} is beyond the type's range), got {actual}");
            return;
        }

        double a = double.CreateTruncating(actual);
        double bound = (Tolerances.RoundingMargin * Tolerances.For<T>() * Math.Abs(expected)) + double.CreateTruncating(T.Epsilon);
        Assert.True(Math.Abs(a - expected) <= bound, $"{what}: expected {expected:R}, got {a:R} (error {Math.Abs(a - expected):E3} > {bound:E3})");
    }

    private static void AssertRelative<T>(double expected, T actual, double relative, string what)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        double a = double.CreateTruncating(actual);
        Assert.True(Math.Abs(a - expected) <= relative * Math.Abs(expected), $"{what}: expected {expected:R}, got {a:R} (relative error {Math.Abs(a - expected) / Math.Abs(expected):E3} > {relative:E1})");
    }
}
