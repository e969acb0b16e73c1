using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics;
using Xunit;
using static BatchNorm.Tests.TestData;

namespace BatchNorm.Tests.Kernels;

/// <summary><see cref="BatchNormLayout"/> constructor and <see cref="BatchNormLayout.FromShape(ReadOnlySpan{int})"/> errors.</summary>
public sealed class LayoutErrorTests
{
    [Theory]
    [InlineData(-1, 3, 1, "batchSize", -1)]
    [InlineData(int.MinValue, 3, 1, "batchSize", int.MinValue)]
    [InlineData(2, 0, 1, "channels", 0)]
    [InlineData(2, -4, 1, "channels", -4)]
    [InlineData(2, 3, -1, "spatialSize", -1)]
    public void Constructor_BadCount_ThrowsOutOfRange(int batchSize, int channels, int spatialSize, string paramName, int actual)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNormLayout(batchSize, channels, spatialSize));
        Assert.Equal(paramName, ex.ParamName);
        Assert.Equal(actual, ex.ActualValue);
        Assert.Contains(Text(actual), ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(65536, 3, 65536)]
    [InlineData(int.MaxValue, 2, 1)]
    [InlineData(46341, 46341, 1)]
    [InlineData(1, int.MaxValue, int.MaxValue)]
    public void Constructor_ElementCountOverflowingInt_ThrowsOutOfRange(int batchSize, int channels, int spatialSize)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNormLayout(batchSize, channels, spatialSize));
        Assert.Contains(ex.ParamName, new[] { "batchSize", "channels", "spatialSize" });
        Assert.Contains(Text(batchSize), ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(int.MaxValue, 1, 1)]
    [InlineData(1, 1, int.MaxValue)]
    [InlineData(0, int.MaxValue, int.MaxValue)]
    [InlineData(0, 1, 0)]
    public void Constructor_Boundaries_AreAccepted(int batchSize, int channels, int spatialSize)
    {
        var layout = new BatchNormLayout(batchSize, channels, spatialSize);
        Assert.Equal((long)batchSize * channels * spatialSize, layout.Length);
        Assert.Equal((long)batchSize * spatialSize, layout.ValuesPerChannel);
    }

    [Theory]
    [InlineData(new int[0], "0")]
    [InlineData(new[] { 5 }, "1")]
    public void FromShape_RankBelowTwo_Throws(int[] shape, string rank)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => BatchNormLayout.FromShape(shape));
        Assert.Equal("shape", ex.ParamName);
        Assert.Contains(rank, ex.Message, StringComparison.Ordinal);
        Assert.Contains("2", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { -1, 3 }, "-1")]
    [InlineData(new[] { 2, -3 }, "-3")]
    [InlineData(new[] { 2, 3, -4 }, "-4")]
    [InlineData(new[] { 2, 3, 4, 5, -6 }, "-6")]
    [InlineData(new[] { 65536, 3, 65536, -2 }, "-2")]
    public void FromShape_NegativeDimension_Throws(int[] shape, string value)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => BatchNormLayout.FromShape(shape));
        Assert.Equal("shape", ex.ParamName);
        Assert.Contains(value, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { 2, 0 })]
    [InlineData(new[] { 2, 0, 5 })]
    public void FromShape_ZeroChannels_Throws(int[] shape)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => BatchNormLayout.FromShape(shape));
        Assert.Equal("shape", ex.ParamName);
    }

    [Theory]
    [MemberData(nameof(ErrorTestCases.OverflowingShapes), MemberType = typeof(ErrorTestCases))]
    [InlineData(new[] { int.MaxValue, 2 })]
    [InlineData(new[] { 65536, 1, 65536, 65536, 65536, 65536 })]
    public void FromShape_ElementCountOverflowingInt_Throws(int[] shape)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => BatchNormLayout.FromShape(shape));
        Assert.Equal("shape", ex.ParamName);
        Assert.Contains(Text(shape[0]), ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { 2, 3 }, 2, 3, 1)]
    [InlineData(new[] { 2, 3, 4 }, 2, 3, 4)]
    [InlineData(new[] { 2, 3, 4, 5 }, 2, 3, 20)]
    [InlineData(new[] { 0, 3, 4, 5, 6 }, 0, 3, 120)]
    [InlineData(new[] { 1, 1, 46340, 46340 }, 1, 1, 46340 * 46340)]
    public void FromShape_ValidShape_MapsToLayout(int[] shape, int batch, int channels, int spatial)
    {
        Assert.Equal(new BatchNormLayout(batch, channels, spatial), BatchNormLayout.FromShape(shape));
    }
}
