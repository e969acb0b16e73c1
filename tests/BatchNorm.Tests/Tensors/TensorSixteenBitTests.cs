using System;
using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using Xunit;

namespace BatchNorm.Tests.Tensors;

/// <summary>
/// <see cref="Tensor{T}"/> of <see cref="Half"/> and <see cref="BFloat16"/>: dense and channels-last tensors are used in
/// place, bit for bit as the 16-bit span overloads in the matching format; other strided views are refused.
/// </summary>
public abstract class TensorSixteenBitTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [Theory]
    [InlineData(new[] { 4, 3, 7 }, false)]
    [InlineData(new[] { 3, 4, 5, 6 }, false)]
    [InlineData(new[] { 3, 4, 5, 6 }, true)]
    [InlineData(new[] { 2, 70, 3, 3 }, true)]
    public void HalfTensors_MatchTheHalfSpanOverload(int[] shape, bool channelsLast) => TrainingStep<Half>(shape, channelsLast);

    [Theory]
    [InlineData(new[] { 4, 3, 7 }, false)]
    [InlineData(new[] { 2, 3, 2, 3, 5 }, true)]
    public void BFloat16Tensors_MatchTheBFloat16SpanOverload(int[] shape, bool channelsLast) => TrainingStep<BFloat16>(shape, channelsLast);

    [Fact]
    public void AStridedSlice_IsRefused_NamingTheInput()
    {
        BatchNormBase<T> layer = TestData.CreateLayer<T>(4, 3);
        var output = Tensor.Create(new Half[2 * 3 * 4 * 3], [2, 3, 4, 3]);
        var error = Assert.Throws<ArgumentException>(() => layer.Forward(
            new TensorSpan<Half>(new Half[2 * 3 * 4 * 6], [2, 3, 4, 6]).Slice([NRange.All, NRange.All, NRange.All, new NRange(0, 3)]), output));
        Assert.Equal("input", error.ParamName);
        Assert.Equal(0, layer.NumBatchesTracked);
    }

    private static void TrainingStep<TData>(int[] shape, bool channelsLast)
        where TData : unmanaged
    {
        int length = TestData.Length(shape);
        TData[] x = SixteenBit.Random<TData>(1, length, 2, 3), dy = SixteenBit.Random<TData>(2, length);
        BatchNormBase<T> spanLayer = TestData.CreateLayer<T>(shape.Length, shape[1]), tensorLayer = TestData.CreateLayer<T>(shape.Length, shape[1]);
        spanLayer.MemoryFormat = channelsLast ? BatchNormMemoryFormat.ChannelsLast : BatchNormMemoryFormat.ChannelsFirst;
        TData[] spanY = new TData[length], spanDx = new TData[length], tensorY = new TData[length], tensorDx = new TData[length];
        SixteenBit.Forward(spanLayer, x, shape, spanY);
        SixteenBit.Backward(spanLayer, x, shape, dy, spanDx);

        if (typeof(TData) == typeof(Half))
        {
            tensorLayer.Forward(View<TData, Half>(x, shape, channelsLast), View<TData, Half>(tensorY, shape, channelsLast));
            tensorLayer.Backward(View<TData, Half>(x, shape, channelsLast), View<TData, Half>(dy, shape, channelsLast), View<TData, Half>(tensorDx, shape, channelsLast));
        }
        else
        {
            tensorLayer.Forward(View<TData, BFloat16>(x, shape, channelsLast), View<TData, BFloat16>(tensorY, shape, channelsLast));
            tensorLayer.Backward(
                View<TData, BFloat16>(x, shape, channelsLast), View<TData, BFloat16>(dy, shape, channelsLast), View<TData, BFloat16>(tensorDx, shape, channelsLast));
        }

        Expect.BitwiseEqual<TData>(spanY, tensorY, "output");
        Expect.BitwiseEqual<TData>(spanDx, tensorDx, "gradInput");
        Expect.BitwiseEqual<T>(spanLayer.RunningMean, tensorLayer.RunningMean, "running mean");
        Expect.BitwiseEqual<T>(spanLayer.WeightGradient, tensorLayer.WeightGradient, "weight gradient");
    }

    /// <summary>The logical (N, C, d1, …) tensor over <paramref name="memory"/>: dense, or with the strides of a dense (N, d1, …, C) one.</summary>
    private static TensorSpan<TTo> View<TData, TTo>(TData[] memory, int[] shape, bool channelsLast)
        where TData : unmanaged
        where TTo : unmanaged
    {
        TTo[] shared = (TTo[])(object)memory; // the same array, so results land in memory
        nint[] lengths = Array.ConvertAll(shape, d => (nint)d), strides = new nint[shape.Length];
        nint stride = 1;
        for (int k = shape.Length - 1; k >= 0; k--)
        {
            int dimension = !channelsLast ? k : k == shape.Length - 1 ? 1 : k == 0 ? 0 : k + 1;
            strides[dimension] = stride;
            stride *= shape[dimension];
        }

        return new TensorSpan<TTo>(shared, 0, lengths, strides);
    }
}

public sealed class TensorSixteenBitTestsFloat : TensorSixteenBitTests<float>;

public sealed class TensorSixteenBitTestsDouble : TensorSixteenBitTests<double>;
