using System;
using System.Numerics;
using Xunit;

namespace BatchNorm.Tests.Kernels;

/// <summary>The functional backward from the output against the backward from the input, and its zero-weight refusal.</summary>
public abstract class KernelBackwardFromOutputTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [Theory]
    [InlineData(new[] { 37, 70 })]
    [InlineData(new[] { 6, 5, 49 })]
    [InlineData(new[] { 2, 3, 1600 })]
    public void TrainingAndInference_MatchBackwardFromInput(int[] shape)
    {
        var layout = BatchNormLayout.FromShape(shape);
        int c = layout.Channels;
        T[] x = TestData.Gaussian<T>(1, layout.Length, 2, 3), dy = TestData.Gaussian<T>(2, layout.Length);
        T[] weight = TestData.Convert<T>(TestData.Uniform(3, c, 0.5, 2)), bias = TestData.Convert<T>(TestData.Uniform(4, c, -1, 1));
        T[] runningMean = TestData.Convert<T>(TestData.Uniform(5, c, 1, 3)), runningVariance = TestData.Convert<T>(TestData.Uniform(6, c, 2, 9));
        double[] mean = new double[c], variance = new double[c], invStd = new double[c];
        var y = new T[layout.Length];
        double ratio = 2; // |bias / weight| <= 1 / 0.5
        BatchNormKernels.ForwardTraining<T>(x, y, layout, weight, bias, 1e-5, mean, variance, invStd);
        Compare(
            (dx, wg, bg) => BatchNormKernels.BackwardTraining<T>(x, dy, dx, layout, weight, mean, invStd, wg, bg),
            (dx, wg, bg) => BatchNormKernels.BackwardTrainingFromOutput<T>(y, dy, dx, layout, weight, bias, invStd, wg, bg),
            layout,
            Tolerances.FromOutput<T>(ratio));

        BatchNormKernels.ForwardInference<T>(x, y, layout, weight, bias, runningMean, runningVariance, 1e-5);
        Compare(
            (dx, wg, bg) => BatchNormKernels.BackwardInference<T>(x, dy, dx, layout, weight, runningMean, runningVariance, 1e-5, wg, bg),
            (dx, wg, bg) => BatchNormKernels.BackwardInferenceFromOutput<T>(y, dy, dx, layout, weight, bias, runningVariance, 1e-5, wg, bg),
            layout,
            Tolerances.FromOutput<T>(ratio));
    }

    [Fact]
    public void ZeroWeight_ThrowsArgumentExceptionNamingTheChannel()
    {
        var layout = BatchNormLayout.FromShape([4, 3]);
        T[] y = TestData.Gaussian<T>(7, layout.Length);
        T[] weight = TestData.Values<T>(1, 0, 2);
        var error = Assert.Throws<ArgumentException>(() => BatchNormKernels.BackwardTrainingFromOutput<T>(
            y, y, new T[layout.Length], layout, weight, default, new double[3], default, default));

        Assert.Equal("weight", error.ParamName);
        Assert.Contains("weight[1] is 0", error.Message, StringComparison.Ordinal);
    }

    private delegate void BackwardCall(Span<T> gradInput, Span<T> weightGradient, Span<T> biasGradient);

    private static void Compare(BackwardCall expected, BackwardCall actual, BatchNormLayout layout, double tolerance)
    {
        T[] dxE = new T[layout.Length], dxA = new T[layout.Length];
        T[] wgE = new T[layout.Channels], wgA = new T[layout.Channels], bgE = new T[layout.Channels], bgA = new T[layout.Channels];
        expected(dxE, wgE, bgE);
        actual(dxA, wgA, bgA);
        Expect.Close<T>(TestData.ToDouble<T>(dxE), dxA, tolerance, "gradInput");
        Expect.Close<T>(TestData.ToDouble<T>(wgE), wgA, tolerance, "weightGradient");
        Expect.Close<T>(TestData.ToDouble<T>(bgE), bgA, tolerance, "biasGradient");
    }
}

public sealed class KernelBackwardFromOutputTestsFloat : KernelBackwardFromOutputTests<float>
{
}

public sealed class KernelBackwardFromOutputTestsDouble : KernelBackwardFromOutputTests<double>
{
}
