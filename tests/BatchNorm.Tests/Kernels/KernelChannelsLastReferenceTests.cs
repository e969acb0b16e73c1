using System;
using System.Numerics;
using Xunit;

namespace BatchNorm.Tests.Kernels;

/// <summary>
/// The functional API on a channels-last <see cref="BatchNormLayout"/>: statistics, training forward and backward
/// against the double reference fed the same logical tensor; and what the layout says of itself.
/// </summary>
public abstract class KernelChannelsLastReferenceTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [Theory]
    [InlineData(new[] { 4, 3, 7 })]
    [InlineData(new[] { 3, 70, 2, 3 })]
    [InlineData(new[] { 2, 3, 4, 3, 5 })]
    [InlineData(new[] { 64, 8, 32, 32 })]
    public void TrainingForwardAndBackward_MatchTheReference(int[] shape)
    {
        int length = TestData.Length(shape), channels = shape[1];
        var layout = BatchNormLayout.FromShape(shape, BatchNormMemoryFormat.ChannelsLast);
        T[] x = TestData.Gaussian<T>(1, length, 3, 2), dy = TestData.Gaussian<T>(2, length);
        T[] weight = TestData.Convert<T>(TestData.Uniform(3, channels, -0.5, 2)), bias = TestData.Convert<T>(TestData.Uniform(4, channels, -1, 1));
        var reference = new ReferenceBatchNorm(channels);
        TestData.ToDouble<T>(weight).CopyTo(reference.Weight, 0);
        TestData.ToDouble<T>(bias).CopyTo(reference.Bias, 0);
        double[] expected = reference.Forward(TestData.ToDouble<T>(x), shape);
        double[] expectedGradient = reference.Backward(TestData.ToDouble<T>(x), shape, TestData.ToDouble<T>(dy));

        T[] xLast = TestData.Permute<T>(x, shape, true), y = new T[length], dx = new T[length];
        double[] mean = new double[channels], variance = new double[channels], invStd = new double[channels];
        T[] weightGradient = new T[channels], biasGradient = new T[channels];
        BatchNormKernels.ForwardTraining<T>(xLast, y, layout, weight, bias, 1e-5, mean, variance, invStd);
        BatchNormKernels.BackwardTraining<T>(xLast, TestData.Permute<T>(dy, shape, true), dx, layout, weight, mean, invStd, weightGradient, biasGradient);

        Expect.Close<T>(expected, TestData.Permute<T>(y, shape, false), Tolerances.For<T>(), "output");
        Expect.Close<double>(reference.BatchVar, variance, Tolerances.Double, "batch variance");
        Expect.Close<T>(expectedGradient, TestData.Permute<T>(dx, shape, false), Tolerances.For<T>(), "gradInput", ScaledComparison<T>.GradInputScale(reference, dy));
        Expect.Close<T>(reference.WeightGrad, weightGradient, Tolerances.For<T>(), "weight gradient");
        Expect.Close<T>(reference.BiasGrad, biasGradient, Tolerances.For<T>(), "bias gradient");
    }

    [Fact]
    public void Layout_SaysItsFormat_AndDiffersFromChannelsFirst()
    {
        var last = BatchNormLayout.FromShape([2, 3, 4, 5], BatchNormMemoryFormat.ChannelsLast);
        var first = BatchNormLayout.FromShape([2, 3, 4, 5]);
        Assert.Equal((2, 3, 20, 120, 40), (last.BatchSize, last.Channels, last.SpatialSize, last.Length, last.ValuesPerChannel));
        Assert.Equal(BatchNormMemoryFormat.ChannelsLast, last.MemoryFormat);
        Assert.Equal(BatchNormMemoryFormat.ChannelsFirst, first.MemoryFormat);
        Assert.NotEqual(first, last);
        Assert.Equal(last, new BatchNormLayout(2, 3, 20, BatchNormMemoryFormat.ChannelsLast));
        Assert.Equal("(N=2, C=3, S=20, channels-last)", last.ToString());
        Assert.Equal("(N=2, C=3, S=20)", first.ToString());
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(2)]
    public void Layout_UndefinedFormat_ThrowsOutOfRange(int value)
    {
        var format = (BatchNormMemoryFormat)value;
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNormLayout(2, 3, 4, format));
        Assert.Equal("memoryFormat", ex.ParamName);
        ex = Assert.Throws<ArgumentOutOfRangeException>(() => BatchNormLayout.FromShape([2, 3, 4], format));
        Assert.Equal("memoryFormat", ex.ParamName);
    }
}

public sealed class KernelChannelsLastReferenceTestsFloat : KernelChannelsLastReferenceTests<float>
{
}

public sealed class KernelChannelsLastReferenceTestsDouble : KernelChannelsLastReferenceTests<double>
{
}
