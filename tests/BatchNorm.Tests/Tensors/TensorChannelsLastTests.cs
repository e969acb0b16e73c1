using System;
using System.Numerics;
using System.Numerics.Tensors;
using Xunit;

namespace BatchNorm.Tests.Tensors;

/// <summary>
/// Channels-last tensors, as PyTorch takes them: a <see cref="TensorSpan{T}"/> of logical lengths <c>(N, C, d1, …)</c>
/// with the strides of a dense <c>(N, d1, …, C)</c> tensor is used in place, whatever the layer's
/// <see cref="BatchNormBase{T}.MemoryFormat"/>, bit for bit as the channels-last span API; tensors of one call in
/// different formats, and a backward in another format than its forward, are refused without changing anything.
/// </summary>
public abstract class TensorChannelsLastTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public static TheoryData<int[]> Shapes => new() { new[] { 4, 3, 7 }, new[] { 3, 4, 5, 6 }, new[] { 2, 3, 2, 3, 5 }, new[] { 5, 70, 3, 3 } };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void TrainingStep_ChannelsLastStrides_MatchChannelsLastSpanApiBitForBit_InPlace(int[] shape)
    {
        int length = TestData.Length(shape);
        T[] x = TestData.Gaussian<T>(1, length, 2, 3), dy = TestData.Gaussian<T>(2, length);
        BatchNormBase<T> spanLayer = TestData.CreateLayer<T>(shape.Length, shape[1]), tensorLayer = TestData.CreateLayer<T>(shape.Length, shape[1]);
        spanLayer.MemoryFormat = BatchNormMemoryFormat.ChannelsLast;
        T[] spanY = new T[length], spanDx = new T[length], tensorY = new T[length], tensorDx = new T[length];
        spanLayer.Forward(x, shape, spanY);
        spanLayer.Backward(x, shape, dy, spanDx);

        // x, dy and the outputs are channels-last memory on both sides. The tensor layer keeps ChannelsFirst: the strides decide.
        tensorLayer.Forward(ChannelsLastView(x, shape), ChannelsLastView(tensorY, shape));
        tensorLayer.Backward(ChannelsLastView(x, shape), ChannelsLastView(dy, shape), ChannelsLastView(tensorDx, shape));

        Expect.BitwiseEqual<T>(spanY, tensorY, "output, written into the (N, d1, …, C) array");
        Expect.BitwiseEqual<T>(spanDx, tensorDx, "gradInput");
        Expect.BitwiseEqual<T>(spanLayer.RunningVariance, tensorLayer.RunningVariance, "running variance");
        Expect.BitwiseEqual<T>(spanLayer.WeightGradient, tensorLayer.WeightGradient, "weight gradient");
        Assert.Equal(BatchNormMemoryFormat.ChannelsFirst, tensorLayer.MemoryFormat);
    }

    [Fact]
    public void PermuteDimensions_OfADenseChannelsLastTensor_GivesTheChannelsFirstResults()
    {
        int[] shape = [3, 4, 5, 6];
        int length = TestData.Length(shape);
        T[] x = TestData.Gaussian<T>(3, length, -1, 2);
        Tensor<T> nhwc = Tensor.Create(TestData.Permute<T>(x, shape, true), [3, 5, 6, 4]);
        Tensor<T> nchw = nhwc.PermuteDimensions([0, 3, 1, 2]);
        var output = Tensor.Create<T>(new T[length], [3, 5, 6, 4]).PermuteDimensions([0, 3, 1, 2]);
        var expected = new T[length];
        BatchNormBase<T> reference = TestData.CreateLayer<T>(4, 4), layer = TestData.CreateLayer<T>(4, 4);
        reference.Forward(x, shape, expected);

        layer.Forward(nchw, output);

        var logical = new T[length];
        output.FlattenTo(logical);
        Expect.Close<T>(TestData.ToDouble<T>(expected), logical, Tolerances.For<T>(), "output against channels-first");
    }

    [Fact]
    public void Forward_OutputInTheOtherFormat_ThrowsNamingOutputAndChangesNothing()
    {
        int[] shape = [3, 4, 5, 6];
        int length = TestData.Length(shape);
        T[] x = TestData.Gaussian<T>(4, length), y = new T[length];
        BatchNormBase<T> layer = TestData.CreateLayer<T>(4, 4);
        var before = new LayerSnapshot<T>(layer, y);

        var error = Assert.Throws<ArgumentException>(() => layer.Forward(ChannelsLast(x, shape), new TensorSpan<T>(y, ToLengths(shape))));

        Assert.Equal("output", error.ParamName);
        Assert.Contains("ChannelsLast", error.Message, StringComparison.Ordinal);
        before.AssertSame(layer, y, "after the refused forward");
    }

    [Fact]
    public void Backward_DenseTensorsAfterAChannelsLastForward_ThrowsNamingInputAndChangesNothing()
    {
        int[] shape = [3, 4, 5, 6];
        int length = TestData.Length(shape);
        T[] x = TestData.Gaussian<T>(5, length), dy = TestData.Gaussian<T>(6, length), dx = new T[length];
        BatchNormBase<T> layer = TestData.CreateLayer<T>(4, 4);
        layer.Forward(ChannelsLast(x, shape), ChannelsLast(new T[length], shape));
        var before = new LayerSnapshot<T>(layer, dx);
        nint[] lengths = ToLengths(shape);

        var error = Assert.Throws<ArgumentException>(
            () => layer.Backward(new ReadOnlyTensorSpan<T>(x, lengths), new ReadOnlyTensorSpan<T>(dy, lengths), new TensorSpan<T>(dx, lengths)));

        Assert.Equal("input", error.ParamName);
        Assert.Contains("memory format of the last Forward (ChannelsLast)", error.Message, StringComparison.Ordinal);
        before.AssertSame(layer, dx, "after the refused backward");
    }

    [Fact]
    public void Forward_StridesOfNeitherFormat_ThrowNamingBoth()
    {
        // (N, C, H, W) = (2, 3, 4, 5) over an (N, W, H, C) array: channels innermost, but H and W swapped.
        T[] data = TestData.Gaussian<T>(7, 120);
        BatchNormBase<T> layer = TestData.CreateLayer<T>(4, 3);

        var error = Assert.Throws<ArgumentException>(
            () => layer.Forward(new ReadOnlyTensorSpan<T>(data, [2, 3, 4, 5], [60, 1, 3, 12]), new TensorSpan<T>(new T[120], [2, 3, 4, 5])));

        Assert.Equal("input", error.ParamName);
        Assert.Contains("dense (contiguous, row-major) or channels-last", error.Message, StringComparison.Ordinal);
    }

    /// <summary>The (N, C, d1, …) view of a channels-last copy of the channels-first <paramref name="logical"/>.</summary>
    private static TensorSpan<T> ChannelsLast(T[] logical, int[] shape)
    {
        T[] memory = TestData.Permute<T>(logical, shape, true);
        return ChannelsLastView(memory, shape);
    }

    /// <summary>The (N, C, d1, …) view of <paramref name="memory"/>, laid out (N, d1, …, C): writes land in it.</summary>
    private static TensorSpan<T> ChannelsLastView(T[] memory, int[] shape)
    {
        nint[] strides = new nint[shape.Length];
        nint stride = 1;
        strides[1] = stride;
        stride *= shape[1];
        for (int i = shape.Length - 1; i >= 2; i--)
        {
            strides[i] = stride;
            stride *= shape[i];
        }

        strides[0] = stride;
        return new TensorSpan<T>(memory, ToLengths(shape), strides);
    }

    private static nint[] ToLengths(int[] shape) => Array.ConvertAll(shape, d => (nint)d);
}

public sealed class TensorChannelsLastTestsFloat : TensorChannelsLastTests<float>
{
}

public sealed class TensorChannelsLastTestsDouble : TensorChannelsLastTests<double>
{
}
