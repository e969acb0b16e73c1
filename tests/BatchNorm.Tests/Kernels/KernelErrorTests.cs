using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics;
using Xunit;
using static BatchNorm.Tests.TestData;

namespace BatchNorm.Tests.Kernels;

/// <summary>Errors of the functional <see cref="BatchNormKernels"/> API; every output buffer must stay untouched.</summary>
public abstract class KernelErrorTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private static BatchNormLayout Layout => new(4, 3, 5);

    [Theory]
    [MemberData(nameof(ErrorTestCases.KernelLengths), MemberType = typeof(ErrorTestCases))]
    public void SpanLengthMismatch_Throws(string kernel, string parameter, int length)
    {
        var args = new KernelArgs<T>(Layout);
        int expected = KernelArgs<T>.DoubleNames.Contains(parameter) ? Layout.Channels : args.DefaultLength(parameter);
        args.Resize(parameter, length);
        ArgumentException ex = ExpectFailure<ArgumentException>(args, kernel, parameter);
        Assert.Contains(Text(expected), ex.Message, StringComparison.Ordinal);
        Assert.Contains(Text(length), ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ErrorTestCases.KernelOptionalSpans), MemberType = typeof(ErrorTestCases))]
    public void OptionalSpan_MayBeEmpty(string kernel, string parameter)
    {
        var args = new KernelArgs<T>(Layout);
        args.SetTyped(parameter, Memory<T>.Empty);
        args.Invoke(kernel);
    }

    [Theory]
    [MemberData(nameof(ErrorTestCases.KernelOverlaps), MemberType = typeof(ErrorTestCases))]
    public void PartialOverlap_Throws(string kernel, string destination, string source, int shift)
    {
        var args = new KernelArgs<T>(Layout);
        args.Overlap(destination, source, shift);
        ArgumentException ex = ExpectFailure<ArgumentException>(args, kernel, destination);
        Assert.Contains(source, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(nameof(BatchNormKernels.ForwardTraining), "output", "input")]
    [InlineData(nameof(BatchNormKernels.ForwardInference), "output", "input")]
    [InlineData(nameof(BatchNormKernels.BackwardTraining), "gradInput", "gradOutput")]
    [InlineData(nameof(BatchNormKernels.BackwardInference), "gradInput", "gradOutput")]
    [InlineData(nameof(BatchNormKernels.Normalize), "output", "input")]
    [InlineData(nameof(BatchNormKernels.BackwardElementwise), "gradInput", "gradOutput")]
    [InlineData(nameof(BatchNormKernels.BackwardElementwise), "gradInput", "input")]
    public void ExactAlias_IsAllowedAndMatchesSeparateBuffers(string kernel, string destination, string source)
    {
        var separate = new KernelArgs<T>(Layout);
        var aliased = new KernelArgs<T>(Layout);
        aliased.SetTyped(destination, aliased.GetTyped(source));
        separate.Invoke(kernel);
        aliased.Invoke(kernel);
        Expect.BitwiseEqual<T>(separate.GetTyped(destination).Span, aliased.GetTyped(destination).Span, destination);
        Expect.BitwiseEqual<T>(separate.WeightGradient.Span, aliased.WeightGradient.Span, "weightGradient");
        Expect.BitwiseEqual<T>(separate.BiasGradient.Span, aliased.BiasGradient.Span, "biasGradient");
        Expect.BitwiseEqual<double>(separate.Mean.Span, aliased.Mean.Span, "mean");
    }

    [Theory]
    [InlineData(nameof(BatchNormKernels.ForwardTraining), -1e-5)]
    [InlineData(nameof(BatchNormKernels.ForwardTraining), double.NaN)]
    [InlineData(nameof(BatchNormKernels.ForwardInference), double.NegativeInfinity)]
    [InlineData(nameof(BatchNormKernels.ForwardInference), double.NaN)]
    [InlineData(nameof(BatchNormKernels.BackwardInference), -1.0)]
    [InlineData(nameof(BatchNormKernels.BackwardInference), double.NaN)]
    public void NegativeOrNaNEpsilon_ThrowsOutOfRange(string kernel, double epsilon)
    {
        var args = new KernelArgs<T>(Layout) { Epsilon = epsilon };
        var ex = ExpectFailure<ArgumentOutOfRangeException>(args, kernel, "epsilon");
        Assert.Equal(epsilon, Assert.IsType<double>(ex.ActualValue));
        Assert.Contains(Text(epsilon), ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void UpdateRunningStatistics_FewerThanTwoValuesPerChannel_ThrowsOutOfRange(int valuesPerChannel)
    {
        var args = new KernelArgs<T>(Layout) { ValuesPerChannel = valuesPerChannel };
        var ex = ExpectFailure<ArgumentOutOfRangeException>(args, nameof(BatchNormKernels.UpdateRunningStatistics), "valuesPerChannel");
        Assert.Equal(valuesPerChannel, ex.ActualValue);
        Assert.Contains(Text(valuesPerChannel), ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-0.01)]
    [InlineData(1.01)]
    [InlineData(-double.Epsilon)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void UpdateRunningStatistics_FactorNaNOrOutsideZeroOne_ThrowsOutOfRange(double factor)
    {
        var args = new KernelArgs<T>(Layout) { Factor = factor };
        var ex = ExpectFailure<ArgumentOutOfRangeException>(args, nameof(BatchNormKernels.UpdateRunningStatistics), "factor");
        Assert.Equal(factor, Assert.IsType<double>(ex.ActualValue));
        Assert.Contains(Text(factor), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UpdateRunningStatistics_BoundaryArguments_AreAccepted()
    {
        var keep = new KernelArgs<T>(Layout) { Factor = 0, ValuesPerChannel = 2 };
        T[] mean = keep.RunningMean.ToArray();
        T[] variance = keep.RunningVariance.ToArray();
        keep.Invoke(nameof(BatchNormKernels.UpdateRunningStatistics));
        Expect.BitwiseEqual<T>(mean, keep.RunningMean.Span, "runningMean with factor 0");
        Expect.BitwiseEqual<T>(variance, keep.RunningVariance.Span, "runningVariance with factor 0");

        var replace = new KernelArgs<T>(Layout) { Factor = 1, ValuesPerChannel = 2 };
        replace.Invoke(nameof(BatchNormKernels.UpdateRunningStatistics));
        for (int c = 0; c < Layout.Channels; c++)
        {
            Expect.Known(replace.Mean.Span[c], replace.RunningMean.Span[c], $"runningMean[{c}] with factor 1");
            Expect.Known(replace.Variance.Span[c] * 2, replace.RunningVariance.Span[c], $"runningVariance[{c}] with factor 1, M = 2");
        }
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-1L)]
    [InlineData(long.MinValue)]
    public void BackwardElementwise_CountBelowOne_ThrowsOutOfRange(long count)
    {
        var args = new KernelArgs<T>(Layout) { Count = count };
        var ex = ExpectFailure<ArgumentOutOfRangeException>(args, nameof(BatchNormKernels.BackwardElementwise), "count");
        Assert.Equal(count, ex.ActualValue);
        Assert.Contains(Text(count), ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, 3, 1)]
    [InlineData(0, 3, 5)]
    [InlineData(2, 3, 0)]
    [InlineData(1, 1, 0)]
    public void ForwardTraining_FewerThanTwoValuesPerChannel_Throws(int batch, int channels, int spatial)
    {
        var layout = new BatchNormLayout(batch, channels, spatial);
        var args = new KernelArgs<T>(layout);
        var ex = ExpectFailure<ArgumentException>(args, nameof(BatchNormKernels.ForwardTraining), paramName: null);
        Assert.Contains(ex.ParamName, new[] { "input", "layout" });
        Assert.Contains(Text(layout.ValuesPerChannel), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ComputeStatistics_EmptyChannels_Throws()
    {
        var args = new KernelArgs<T>(new BatchNormLayout(0, 3, 5));
        var ex = ExpectFailure<ArgumentException>(args, nameof(BatchNormKernels.ComputeStatistics), paramName: null);
        Assert.Contains(ex.ParamName, new[] { "input", "layout" });
    }

    [Fact]
    public void ComputeStatistics_OneValuePerChannel_GivesThatValueAndZeroVariance()
    {
        var args = new KernelArgs<T>(new BatchNormLayout(1, 3, 1));
        args.Invoke(nameof(BatchNormKernels.ComputeStatistics));
        for (int c = 0; c < 3; c++)
        {
            Assert.Equal(double.CreateChecked(args.Input.Span[c]), args.Mean.Span[c]);
            Assert.Equal(0, args.Variance.Span[c]);
        }
    }

    [Fact]
    public void EmptyInputInInference_GivesEmptyOutput()
    {
        var args = new KernelArgs<T>(new BatchNormLayout(0, 3, 5));
        List<byte[]> before = args.Snapshot();
        args.Invoke(nameof(BatchNormKernels.ForwardInference));
        args.AssertUnchanged(before, "empty inference");
    }

    private static TException ExpectFailure<TException>(KernelArgs<T> args, string kernel, string? paramName)
        where TException : ArgumentException
    {
        List<byte[]> before = args.Snapshot();
        TException ex = Assert.ThrowsAny<TException>(() => args.Invoke(kernel));
        if (paramName is not null)
        {
            Assert.Equal(paramName, ex.ParamName);
        }

        args.AssertUnchanged(before, $"after the failed {kernel}");
        return ex;
    }
}

public sealed class KernelErrorTestsFloat : KernelErrorTests<float>
{
}

public sealed class KernelErrorTestsDouble : KernelErrorTests<double>
{
}

/// <summary>Kernels of an element type other than float and double.</summary>
public sealed class KernelElementTypeErrorTests
{
    [Fact]
    public void Kernels_OfHalf_ThrowNotSupported()
    {
        var layout = new BatchNormLayout(4, 3, 5);
        var x = new Half[60];
        var y = new Half[60];
        var channel = new Half[3];
        var statistics = new double[3];
        var statistics2 = new double[3];
        var statistics3 = new double[3];
        Assert.Throws<NotSupportedException>(() => BatchNormKernels.ForwardTraining<Half>(x, y, layout, channel, channel, 1e-5, statistics, statistics2, statistics3));
        Assert.Throws<NotSupportedException>(() => BatchNormKernels.ForwardInference<Half>(x, y, layout, channel, channel, channel, new Half[3], 1e-5));
        Assert.Throws<NotSupportedException>(() => BatchNormKernels.ComputeStatistics<Half>(x, layout, statistics, statistics2));
        Assert.Throws<NotSupportedException>(() => BatchNormKernels.UpdateRunningStatistics<Half>(channel, new Half[3], statistics, statistics2, 60, 0.1));
        Assert.Throws<NotSupportedException>(() => BatchNormKernels.BackwardTraining<Half>(x, y, new Half[60], layout, channel, statistics, statistics2, new Half[3], new Half[3]));
        Assert.Throws<NotSupportedException>(() => BatchNormKernels.BackwardInference<Half>(x, y, new Half[60], layout, channel, channel, new Half[3], 1e-5, new Half[3], new Half[3]));
        Assert.Throws<NotSupportedException>(() => BatchNormKernels.Normalize<Half>(x, y, layout, channel, channel, statistics, statistics2));
        Assert.Throws<NotSupportedException>(() => BatchNormKernels.BackwardReduce<Half>(x, y, layout, statistics, statistics2, statistics3));
        Assert.Throws<NotSupportedException>(() => BatchNormKernels.BackwardElementwise<Half>(x, y, new Half[60], layout, channel, statistics, statistics2, statistics3, new double[3], 20));
        Assert.All(x, v => Assert.Equal(Half.Zero, v));
        Assert.All(y, v => Assert.Equal(Half.Zero, v));
    }
}
