using System;
using System.Numerics;
using System.Runtime.InteropServices;
using Xunit;

namespace BatchNorm.Tests.Kernels;

/// <summary>
/// The functional API's <see cref="Half"/> and <see cref="BFloat16"/> entry points against the same calls of type
/// <typeparamref name="T"/> on the widened values: statistics and parameter gradients the same bits, outputs and input
/// gradients their results rounded once (by the test's own rounding), for the run path, the column path, fused runs longer
/// than a staged piece and channels-last data.
/// </summary>
public abstract class KernelSixteenBitTests<T, TData>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
    where TData : unmanaged
{
    [Theory]
    [InlineData(new[] { 300, 20 }, BatchNormMemoryFormat.ChannelsFirst)]
    [InlineData(new[] { 4, 3, 7 }, BatchNormMemoryFormat.ChannelsFirst)]
    [InlineData(new[] { 2, 3, 72, 72 }, BatchNormMemoryFormat.ChannelsFirst)]
    [InlineData(new[] { 3, 70, 2, 3 }, BatchNormMemoryFormat.ChannelsLast)]
    [InlineData(new[] { 40, 1100 }, BatchNormMemoryFormat.ChannelsFirst)]
    [InlineData(new[] { 3, 3000 }, BatchNormMemoryFormat.ChannelsFirst)]
    [InlineData(new[] { 2, 600, 2, 3 }, BatchNormMemoryFormat.ChannelsLast)]
    public void EveryEntryPoint_IsItsTypeTFormOnTheWidenedValues_RoundedOnce(int[] shape, BatchNormMemoryFormat format)
    {
        var layout = BatchNormLayout.FromShape(shape, format);
        int length = layout.Length, channels = layout.Channels;
        TData[] x = SixteenBit.Random<TData>(1, length, 2, 3), dy = SixteenBit.Random<TData>(2, length);
        T[] wideX = SixteenBit.Widen<TData, T>(x), wideDy = SixteenBit.Widen<TData, T>(dy);
        T[] weight = TestData.Convert<T>(TestData.Uniform(3, channels, -0.5, 2)), bias = TestData.Convert<T>(TestData.Uniform(4, channels, -1, 1));
        T[] runningMean = TestData.Convert<T>(TestData.Uniform(5, channels, -1, 1)), runningVariance = TestData.Convert<T>(TestData.Uniform(6, channels, 0.5, 2));
        var expected = new Results(length, channels);
        var actual = new Results(length, channels);

        BatchNormKernels.ForwardTraining<T>(wideX, expected.Y, layout, weight, bias, 1e-5, expected.Mean, expected.Variance, expected.InvStd);
        ForwardTraining(x, actual.Narrow, layout, weight, bias, actual);
        Expect.BitwiseEqual<double>(expected.Mean, actual.Mean, "mean");
        Expect.BitwiseEqual<double>(expected.Variance, actual.Variance, "variance");
        Expect.BitwiseEqual<TData>(SixteenBit.Narrow<T, TData>(expected.Y), actual.Narrow, "training output");

        BatchNormKernels.BackwardTraining<T>(wideX, wideDy, expected.Y, layout, weight, expected.Mean, expected.InvStd, expected.WeightGradient, expected.BiasGradient);
        BackwardTraining(x, dy, actual.Narrow, layout, weight, actual);
        actual.ExpectSameGradients(expected, "training backward");

        BatchNormKernels.ForwardInference<T>(wideX, expected.Y, layout, weight, bias, runningMean, runningVariance, 1e-5);
        Inference(x, dy, actual.Narrow, layout, weight, bias, runningMean, runningVariance, forward: true, actual);
        Expect.BitwiseEqual<TData>(SixteenBit.Narrow<T, TData>(expected.Y), actual.Narrow, "evaluation output");

        BatchNormKernels.BackwardInference<T>(wideX, wideDy, expected.Y, layout, weight, runningMean, runningVariance, 1e-5, expected.WeightGradient, expected.BiasGradient);
        Inference(x, dy, actual.Narrow, layout, weight, bias, runningMean, runningVariance, forward: false, actual);
        actual.ExpectSameGradients(expected, "evaluation backward");
    }

    [Fact]
    public void WrongLengths_ThrowNamingTheSpan()
    {
        var layout = new BatchNormLayout(2, 3, 4);
        TData[] x = new TData[24];
        T[] weight = new T[3];
        var results = new Results(24, 3);
        Assert.Equal("output", Assert.Throws<ArgumentException>(() => ForwardTraining(x, new TData[23], layout, weight, weight, results)).ParamName);
        Assert.Equal("gradInput", Assert.Throws<ArgumentException>(() => BackwardTraining(x, x, new TData[25], layout, weight, results)).ParamName);
        Assert.Equal("weight", Assert.Throws<ArgumentException>(() => ForwardTraining(x, new TData[24], layout, new T[2], weight, results)).ParamName);
    }

    private static void ForwardTraining(TData[] x, TData[] y, BatchNormLayout layout, T[] weight, T[] bias, Results r)
    {
        if (typeof(TData) == typeof(Half))
        {
            BatchNormKernels.ForwardTraining<T>(Cast<Half>(x), Cast<Half>(y), layout, weight, bias, 1e-5, r.Mean, r.Variance, r.InvStd);
        }
        else
        {
            BatchNormKernels.ForwardTraining<T>(Cast<BFloat16>(x), Cast<BFloat16>(y), layout, weight, bias, 1e-5, r.Mean, r.Variance, r.InvStd);
        }
    }

    private static void BackwardTraining(TData[] x, TData[] dy, TData[] dx, BatchNormLayout layout, T[] weight, Results r)
    {
        if (typeof(TData) == typeof(Half))
        {
            BatchNormKernels.BackwardTraining<T>(Cast<Half>(x), Cast<Half>(dy), Cast<Half>(dx), layout, weight, r.Mean, r.InvStd, r.WeightGradient, r.BiasGradient);
        }
        else
        {
            BatchNormKernels.BackwardTraining<T>(Cast<BFloat16>(x), Cast<BFloat16>(dy), Cast<BFloat16>(dx), layout, weight, r.Mean, r.InvStd, r.WeightGradient, r.BiasGradient);
        }
    }

    /// <summary>The evaluation forward (into <paramref name="output"/>) or backward (into <paramref name="output"/> as dx).</summary>
    private static void Inference(TData[] x, TData[] dy, TData[] output, BatchNormLayout layout, T[] weight, T[] bias, T[] mean, T[] variance, bool forward, Results r)
    {
        if (typeof(TData) == typeof(Half) && forward)
        {
            BatchNormKernels.ForwardInference<T>(Cast<Half>(x), Cast<Half>(output), layout, weight, bias, mean, variance, 1e-5);
        }
        else if (forward)
        {
            BatchNormKernels.ForwardInference<T>(Cast<BFloat16>(x), Cast<BFloat16>(output), layout, weight, bias, mean, variance, 1e-5);
        }
        else if (typeof(TData) == typeof(Half))
        {
            BatchNormKernels.BackwardInference<T>(Cast<Half>(x), Cast<Half>(dy), Cast<Half>(output), layout, weight, mean, variance, 1e-5, r.WeightGradient, r.BiasGradient);
        }
        else
        {
            BatchNormKernels.BackwardInference<T>(Cast<BFloat16>(x), Cast<BFloat16>(dy), Cast<BFloat16>(output), layout, weight, mean, variance, 1e-5, r.WeightGradient, r.BiasGradient);
        }
    }

    private static Span<TTo> Cast<TTo>(TData[] data)
        where TTo : struct => MemoryMarshal.Cast<TData, TTo>(data.AsSpan());

    /// <summary>What one set of calls produces: T outputs (for the T calls), 16-bit outputs, statistics and gradients.</summary>
    private sealed class Results(int length, int channels)
    {
        public T[] Y { get; } = new T[length];

        public TData[] Narrow { get; } = new TData[length];

        public double[] Mean { get; } = new double[channels];

        public double[] Variance { get; } = new double[channels];

        public double[] InvStd { get; } = new double[channels];

        public T[] WeightGradient { get; } = new T[channels];

        public T[] BiasGradient { get; } = new T[channels];

        public void ExpectSameGradients(Results expected, string what)
        {
            Expect.BitwiseEqual<TData>(SixteenBit.Narrow<T, TData>(expected.Y), Narrow, what + ": gradInput");
            Expect.BitwiseEqual<T>(expected.WeightGradient, WeightGradient, what + ": weight gradient");
            Expect.BitwiseEqual<T>(expected.BiasGradient, BiasGradient, what + ": bias gradient");
        }
    }
}

public sealed class KernelSixteenBitTestsFloatHalf : KernelSixteenBitTests<float, Half>;

public sealed class KernelSixteenBitTestsFloatBFloat16 : KernelSixteenBitTests<float, BFloat16>;

public sealed class KernelSixteenBitTestsDoubleHalf : KernelSixteenBitTests<double, Half>;

public sealed class KernelSixteenBitTestsDoubleBFloat16 : KernelSixteenBitTests<double, BFloat16>;
