using System;
using System.Linq;
using System.Numerics;
using BatchNorm.Inference;
using Xunit;
using static BatchNorm.Tests.FoldingReference;

namespace BatchNorm.Tests.Inference;

public class BatchNormFoldingTests
{
    private const double Epsilon = 1e-3;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ToAffine_Double_IsTheFormulaInDouble(bool affine) => AssertToAffineFormula<double>(affine);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ToAffine_Float_IsTheFormulaInDoubleRoundedOnce(bool affine) => AssertToAffineFormula<float>(affine);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ToAffine_AppliedToInput_MatchesEvalReference(bool affine)
    {
        const int batch = 3, channels = 4, spatial = 5;
        BatchNorm2d<double> layer = Layer<double>(channels, affine, seed: 10);
        double[] x = TestData.Gaussian(11, batch * channels * spatial, 2, 3);
        var scale = new double[channels];
        var shift = new double[channels];

        BatchNormFolding.ToAffine(layer, scale, shift);

        double[] actual = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int c = i / spatial % channels;
            actual[i] = (x[i] * scale[c]) + shift[c];
        }

        Expect.Close<double>(Reference(layer, x, batch, spatial), actual, Tolerances.Double, "folded result");
    }

    /// <summary>eps = 0 and a zero running variance: the layer's inverse std is 0 there, so the fold is y = bias.</summary>
    [Fact]
    public void ToAffine_ZeroVariancePlusEpsilon_MatchesLayerOutputOfBias()
    {
        var layer = new BatchNorm1d<float>(2, epsilon: 0);
        layer.RunningVariance.Clear();
        layer.RunningMean[0] = 3;
        layer.Bias[0] = 0.5f;
        layer.Bias[1] = -2;
        layer.Eval();
        var scale = new float[2];
        var shift = new float[2];
        BatchNormFolding.ToAffine<float>(layer, scale, shift);
        var y = new float[2];
        layer.Forward([7f, -1f], [1, 2], y);
        Assert.Equal([0f, 0f], scale);
        Assert.Equal([0.5f, -2f], shift);
        Assert.Equal([7f * scale[0] + shift[0], -1f * scale[1] + shift[1]], y);
    }

    [Fact]
    public void ToAffine_NoRunningStatistics_Throws()
    {
        var layer = new BatchNorm1d<float>(2, trackRunningStatistics: false);

        InvalidOperationException error = Assert.Throws<InvalidOperationException>(() => BatchNormFolding.ToAffine(layer, new float[2], new float[2]));
        Assert.Contains("running statistics", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToAffine_BadSpans_Throw()
    {
        BatchNorm2d<float> layer = Layer<float>(3, true, 1);
        var buffer = new float[6];

        Assert.Equal("scale", Assert.Throws<ArgumentException>(() => BatchNormFolding.ToAffine(layer, new float[2], new float[3])).ParamName);
        Assert.Equal("shift", Assert.Throws<ArgumentException>(() => BatchNormFolding.ToAffine(layer, new float[3], new float[4])).ParamName);
        Assert.Equal("shift", Assert.Throws<ArgumentException>(() => BatchNormFolding.ToAffine(layer, buffer.AsSpan(0, 3), buffer.AsSpan(2, 3))).ParamName);
        Assert.Throws<ArgumentNullException>(() => BatchNormFolding.ToAffine<float>(null!, new float[3], new float[3]));
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(false, false)]
    public void FoldIntoLinear_Double_MatchesUnfused(bool hasBias, bool affine) => AssertLinear<double>(hasBias, affine, Tolerances.Double);

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(false, false)]
    public void FoldIntoLinear_Float_MatchesUnfused(bool hasBias, bool affine) => AssertLinear<float>(hasBias, affine, Tolerances.Float);

    [Theory]
    [InlineData(1, 1, 0, true, true)]
    [InlineData(1, 2, 1, false, true)]
    [InlineData(2, 1, 1, true, false)]
    [InlineData(4, 1, 1, false, false)]
    [InlineData(4, 2, 0, true, true)]
    public void FoldIntoConvolution_Double_MatchesUnfused(int groups, int stride, int padding, bool hasBias, bool affine) =>
        AssertConvolution<double>(groups, stride, padding, hasBias, affine, Tolerances.Double);

    [Theory]
    [InlineData(1, 1, 0, true, true)]
    [InlineData(1, 2, 1, false, true)]
    [InlineData(2, 1, 1, true, false)]
    [InlineData(4, 1, 1, false, false)]
    public void FoldIntoConvolution_Float_MatchesUnfused(int groups, int stride, int padding, bool hasBias, bool affine) =>
        AssertConvolution<float>(groups, stride, padding, hasBias, affine, Tolerances.Float);

    [Fact]
    public void FoldIntoConvolution_Float_IsEachProductInDoubleRoundedOnce()
    {
        BatchNorm2d<float> layer = Layer<float>(3, true, 30);
        float[] weight = TestData.Gaussian<float>(31, 3 * 2 * 2);
        float[] bias = TestData.Gaussian<float>(32, 3);
        var foldedWeight = new float[weight.Length];
        var foldedBias = new float[3];

        BatchNormFolding.FoldIntoConvolution(layer, weight, [3, 2, 2], bias, foldedWeight, foldedBias);

        for (int o = 0; o < 3; o++)
        {
            double scale = (double)layer.Weight[o] / Math.Sqrt((double)layer.RunningVariance[o] + Epsilon);
            for (int i = 0; i < 4; i++)
            {
                Assert.Equal((float)(weight[(o * 4) + i] * scale), foldedWeight[(o * 4) + i]);
            }

            Assert.Equal((float)((((double)bias[o] - layer.RunningMean[o]) * scale) + layer.Bias[o]), foldedBias[o]);
        }
    }

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    public void FoldIntoConvolution_1dAnd3d_FoldPerOutputChannel(int rank)
    {
        BatchNorm1d<double> layer = new(4, epsilon: Epsilon);
        Randomize(layer, 40);
        layer.Eval();
        int[] shape = rank == 3 ? [4, 3, 5] : [4, 1, 2, 3, 2];
        int perChannel = shape.Skip(1).Aggregate(1, (a, b) => a * b);
        double[] weight = TestData.Gaussian(41, 4 * perChannel);
        var convWeight = new double[weight.Length];
        var convBias = new double[4];
        var linearWeight = new double[weight.Length];
        var linearBias = new double[4];

        BatchNormFolding.FoldIntoConvolution(layer, weight, shape, [], convWeight, convBias);
        BatchNormFolding.FoldIntoLinear(layer, weight, [4, perChannel], [], linearWeight, linearBias);

        Assert.Equal(linearWeight, convWeight);
        Assert.Equal(linearBias, convBias);
    }

    [Fact]
    public void Fold_InPlace_MatchesOutOfPlace()
    {
        BatchNorm2d<float> layer = Layer<float>(4, true, 50);
        float[] weight = TestData.Gaussian<float>(51, 4 * 3 * 3 * 3);
        float[] bias = TestData.Gaussian<float>(52, 4);
        var expectedWeight = new float[weight.Length];
        var expectedBias = new float[4];
        BatchNormFolding.FoldIntoConvolution(layer, weight, [4, 3, 3, 3], bias, expectedWeight, expectedBias);

        BatchNormFolding.FoldIntoConvolution(layer, weight, [4, 3, 3, 3], bias, weight, bias);

        Assert.Equal(expectedWeight, weight);
        Assert.Equal(expectedBias, bias);
    }

    [Fact]
    public void Fold_PartiallyOverlappingWeight_IsReadBeforeItIsWritten()
    {
        BatchNorm1d<double> layer = new(2, epsilon: Epsilon);
        Randomize(layer, 60);
        layer.Eval();
        double[] buffer = TestData.Gaussian(61, 2 * 3 + 1);
        double[] weight = buffer[1..];
        var expectedWeight = new double[6];
        var expectedBias = new double[2];
        BatchNormFolding.FoldIntoLinear(layer, weight, [2, 3], [], expectedWeight, expectedBias);
        var foldedBias = new double[2];

        BatchNormFolding.FoldIntoLinear(layer, buffer.AsSpan(1), [2, 3], [], buffer.AsSpan(0, 6), foldedBias);

        Assert.Equal(expectedWeight, buffer[..6]);
        Assert.Equal(expectedBias, foldedBias);
    }

    [Theory]
    [InlineData("channels", "weightShape", "NumFeatures")]
    [InlineData("rank", "weightShape", "rank 3 to 5")]
    [InlineData("negative", "weightShape", "non-negative")]
    [InlineData("weight-length", "weight", "Expected 54 elements")]
    [InlineData("bias-length", "bias", "no bias")]
    [InlineData("folded-weight-length", "foldedWeight", "length 54")]
    [InlineData("folded-bias-length", "foldedBias", "length 6")]
    [InlineData("outputs-overlap", "foldedBias", "overlap")]
    public void FoldIntoConvolution_BadArguments_ThrowAndWriteNothing(string kind, string paramName, string fragment)
    {
        BatchNorm2d<float> layer = Layer<float>(6, true, 70);
        int[] shape = [6, 1, 3, 3];
        var weight = new float[54];
        var bias = new float[6];
        var output = new float[70];
        output.AsSpan().Fill(-7f);
        Span<float> foldedWeight = output.AsSpan(0, 54);
        Span<float> foldedBias = output.AsSpan(60, 6);
        switch (kind)
        {
            case "channels": shape = [3, 2, 3, 3]; break;
            case "rank": shape = [6, 9]; break;
            case "negative": shape = [6, -1, 3, 3]; break;
            case "weight-length": weight = new float[53]; break;
            case "bias-length": bias = new float[5]; break;
            case "folded-weight-length": foldedWeight = output.AsSpan(0, 53); break;
            case "folded-bias-length": foldedBias = output.AsSpan(60, 7); break;
            case "outputs-overlap": foldedBias = output.AsSpan(50, 6); break;
        }

        ArgumentException error;
        try
        {
            BatchNormFolding.FoldIntoConvolution(layer, weight, shape, bias, foldedWeight, foldedBias);
            throw new Xunit.Sdk.XunitException("Expected an ArgumentException.");
        }
        catch (ArgumentException e)
        {
            error = e;
        }

        Assert.Equal(paramName, error.ParamName);
        Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
        Assert.All(output, v => Assert.Equal(-7f, v));
    }

    [Fact]
    public void FoldIntoLinear_WrongRankOrChannels_Throws()
    {
        BatchNorm1d<double> layer = new(3);
        layer.Eval();

        Assert.Contains("rank 2", Assert.Throws<ArgumentException>(() => BatchNormFolding.FoldIntoLinear(layer, new double[6], [3, 2, 1], [], new double[6], new double[3])).Message);
        Assert.Contains("NumFeatures", Assert.Throws<ArgumentException>(() => BatchNormFolding.FoldIntoLinear(layer, new double[6], [2, 3], [], new double[6], new double[3])).Message);
    }

    [Fact]
    public void Fold_NoRunningStatistics_Throws()
    {
        var layer = new BatchNorm2d<double>(2, trackRunningStatistics: false);

        Assert.Throws<InvalidOperationException>(() => BatchNormFolding.FoldIntoLinear(layer, new double[4], [2, 2], [], new double[4], new double[2]));
        Assert.Throws<InvalidOperationException>(() => BatchNormFolding.FoldIntoConvolution(layer, new double[4], [2, 2, 1], [], new double[4], new double[2]));
    }

    private static void AssertToAffineFormula<T>(bool affine)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        BatchNorm2d<T> layer = Layer<T>(6, affine, seed: 1);
        var scale = new T[6];
        var shift = new T[6];

        BatchNormFolding.ToAffine(layer, scale, shift);

        for (int c = 0; c < 6; c++)
        {
            double gamma = affine ? double.CreateTruncating(layer.Weight[c]) : 1;
            double beta = affine ? double.CreateTruncating(layer.Bias[c]) : 0;
            double s = gamma / Math.Sqrt(double.CreateTruncating(layer.RunningVariance[c]) + Epsilon);
            Assert.Equal(T.CreateTruncating(s), scale[c]);
            Assert.Equal(T.CreateTruncating(beta - (double.CreateTruncating(layer.RunningMean[c]) * s)), shift[c]);
        }
    }

    private static void AssertLinear<T>(bool hasBias, bool affine, double tolerance)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const int batch = 4, inFeatures = 7, outFeatures = 5;
        BatchNorm2d<T> layer = Layer<T>(outFeatures, affine, seed: 20);
        T[] weight = TestData.Gaussian<T>(21, outFeatures * inFeatures);
        T[] bias = hasBias ? TestData.Gaussian<T>(22, outFeatures) : [];
        double[] x = ToDouble(TestData.Gaussian<T>(23, batch * inFeatures, 1, 2));
        var foldedWeight = new T[weight.Length];
        var foldedBias = new T[outFeatures];

        BatchNormFolding.FoldIntoLinear(layer, weight, [outFeatures, inFeatures], bias, foldedWeight, foldedBias);

        double[] unfused = Linear(x, batch, inFeatures, ToDouble(weight), outFeatures, ToDouble(bias));
        double[] expected = Reference(layer, unfused, batch, 1);
        double[] actual = Linear(x, batch, inFeatures, ToDouble(foldedWeight), outFeatures, ToDouble(foldedBias));
        Expect.Close<double>(expected, actual, tolerance, "folded result");
    }

    private static void AssertConvolution<T>(int groups, int stride, int padding, bool hasBias, bool affine, double tolerance)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const int batch = 2, inChannels = 4, height = 5, width = 6, outChannels = 8, kernelHeight = 3, kernelWidth = 2;
        BatchNorm2d<T> layer = Layer<T>(outChannels, affine, seed: 30 + groups);
        int[] shape = [outChannels, inChannels / groups, kernelHeight, kernelWidth];
        T[] weight = TestData.Gaussian<T>(31, shape.Aggregate(1, (a, b) => a * b));
        T[] bias = hasBias ? TestData.Gaussian<T>(32, outChannels) : [];
        double[] x = ToDouble(TestData.Gaussian<T>(33, batch * inChannels * height * width, -1, 2));
        var foldedWeight = new T[weight.Length];
        var foldedBias = new T[outChannels];

        BatchNormFolding.FoldIntoConvolution(layer, weight, shape, bias, foldedWeight, foldedBias);

        double[] unfused = Conv2d(
            x, batch, inChannels, height, width, ToDouble(weight), outChannels, kernelHeight, kernelWidth, ToDouble(bias), groups, stride, padding, out int oh, out int ow);
        double[] expected = Reference(layer, unfused, batch, oh * ow);
        double[] actual = Conv2d(
            x, batch, inChannels, height, width, ToDouble(foldedWeight), outChannels, kernelHeight, kernelWidth, ToDouble(foldedBias), groups, stride, padding, out _, out _);
        Expect.Close<double>(expected, actual, tolerance, "folded result");
    }

    /// <summary>A layer in eval mode with seeded weight, bias, running mean (away from 0) and positive running variance.</summary>
    private static BatchNorm2d<T> Layer<T>(int channels, bool affine, int seed)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var layer = new BatchNorm2d<T>(channels, epsilon: Epsilon, affine: affine);
        Randomize(layer, seed);
        layer.Eval();
        return layer;
    }

    private static void Randomize<T>(BatchNormBase<T> layer, int seed)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int c = layer.NumFeatures;
        if (layer.Affine)
        {
            TestData.Gaussian<T>(seed, c, 1, 0.5).CopyTo(layer.Weight);
            TestData.Gaussian<T>(seed + 1, c, 0, 0.5).CopyTo(layer.Bias);
        }

        TestData.Gaussian<T>(seed + 2, c, 2, 1).CopyTo(layer.RunningMean);
        double[] variance = TestData.Uniform(seed + 3, c, 0.05, 4);
        for (int i = 0; i < c; i++)
        {
            layer.RunningVariance[i] = T.CreateTruncating(variance[i]);
        }
    }

    /// <summary>The unfused eval batch norm of <paramref name="y"/> in double, from the layer's own values.</summary>
    private static double[] Reference<T>(BatchNormBase<T> layer, double[] y, int batch, int spatial)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        BatchNormEval(
            y, batch, layer.NumFeatures, spatial, ToDouble(layer.RunningMean.ToArray()), ToDouble(layer.RunningVariance.ToArray()),
            layer.Epsilon, ToDouble(layer.Weight.ToArray()), ToDouble(layer.Bias.ToArray()));

    private static double[] ToDouble<T>(T[] values)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        values.Select(double.CreateTruncating).ToArray();
}
