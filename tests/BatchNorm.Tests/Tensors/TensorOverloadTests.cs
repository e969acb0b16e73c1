using System;
using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using Xunit;

namespace BatchNorm.Tests.Tensors;

/// <summary>
/// The Forward and Backward overloads over <see cref="Tensor{T}"/>, <see cref="TensorSpan{T}"/> and
/// <see cref="ReadOnlyTensorSpan{T}"/>: dense tensors give the span API's results bit for bit; strided views and
/// shapes that do not fit in int are rejected with an <see cref="ArgumentException"/> that changes nothing.
/// </summary>
public abstract class TensorOverloadTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public static TheoryData<int[]> DenseShapes => new()
    {
        new[] { 8, 3 },
        new[] { 4, 3, 7 },
        new[] { 3, 4, 5, 6 },
        new[] { 2, 3, 2, 3, 5 },
        new[] { 2, 5, 0 },
    };

    [Theory]
    [MemberData(nameof(DenseShapes))]
    public void TrainingStep_DenseTensorSpans_MatchSpanApiBitForBit(int[] shape)
    {
        int length = TestData.Length(shape);
        nint[] lengths = ToLengths(shape);
        T[] x = TestData.Gaussian<T>(11, length, mean: 3, std: 2);
        T[] dy = TestData.Gaussian<T>(12, length);
        BatchNormBase<T> spanLayer = CreateLayer(shape);
        BatchNormBase<T> tensorLayer = CreateLayer(shape);
        bool batchStatisticsPossible = length / shape[1] >= 2;
        if (!batchStatisticsPossible)
        {
            spanLayer.Eval();
            tensorLayer.Eval();
        }

        var spanY = new T[length];
        var spanDx = new T[length];
        spanLayer.Forward(x, shape, spanY);
        spanLayer.Backward(x, shape, dy, spanDx);

        var tensorY = new T[length];
        var tensorDx = new T[length];
        tensorLayer.Forward(new ReadOnlyTensorSpan<T>(x, lengths), new TensorSpan<T>(tensorY, lengths));
        tensorLayer.Backward(new ReadOnlyTensorSpan<T>(x, lengths), new ReadOnlyTensorSpan<T>(dy, lengths), new TensorSpan<T>(tensorDx, lengths));

        AssertSameState(spanLayer, tensorLayer);
        Expect.BitwiseEqual<T>(spanY, tensorY, "output");
        Expect.BitwiseEqual<T>(spanDx, tensorDx, "gradInput");
    }

    [Fact]
    public void EvalStep_DenseTensorSpans_MatchSpanApiBitForBit()
    {
        int[] shape = [6, 4, 9];
        nint[] lengths = ToLengths(shape);
        T[] x = TestData.Gaussian<T>(21, 6 * 4 * 9, mean: -1, std: 3);
        T[] dy = TestData.Gaussian<T>(22, x.Length);
        BatchNormBase<T> spanLayer = CreateLayer(shape);
        BatchNormBase<T> tensorLayer = CreateLayer(shape);
        var spanY = new T[x.Length];
        var tensorY = new T[x.Length];
        spanLayer.Forward(x, shape, spanY);
        tensorLayer.Forward(new ReadOnlyTensorSpan<T>(x, lengths), new TensorSpan<T>(tensorY, lengths));
        spanLayer.Eval();
        tensorLayer.Eval();

        var spanDx = new T[x.Length];
        var tensorDx = new T[x.Length];
        spanLayer.Forward(dy, shape, spanY);
        spanLayer.Backward(dy, shape, x, spanDx);
        tensorLayer.Forward(new ReadOnlyTensorSpan<T>(dy, lengths), new TensorSpan<T>(tensorY, lengths));
        tensorLayer.Backward(new ReadOnlyTensorSpan<T>(dy, lengths), new ReadOnlyTensorSpan<T>(x, lengths), new TensorSpan<T>(tensorDx, lengths));

        AssertSameState(spanLayer, tensorLayer);
        Expect.BitwiseEqual<T>(spanY, tensorY, "eval output");
        Expect.BitwiseEqual<T>(spanDx, tensorDx, "eval gradInput");
    }

    [Fact]
    public void TrainingStep_TensorOfT_ConvertsImplicitlyAndWritesIntoItsArray()
    {
        int[] shape = [5, 3, 4, 4];
        T[] x = TestData.Gaussian<T>(31, TestData.Length(shape));
        T[] dy = TestData.Gaussian<T>(32, x.Length);
        BatchNormBase<T> spanLayer = CreateLayer(shape);
        BatchNormBase<T> tensorLayer = CreateLayer(shape);
        var spanY = new T[x.Length];
        var spanDx = new T[x.Length];
        spanLayer.Forward(x, shape, spanY);
        spanLayer.Backward(x, shape, dy, spanDx);

        // Tensor.Create wraps the arrays (no copy), so what the layer writes through the tensors lands in them.
        var yArray = new T[x.Length];
        var dxArray = new T[x.Length];
        nint[] lengths = ToLengths(shape);
        Tensor<T> input = Tensor.Create(x, lengths);
        Tensor<T> output = Tensor.Create(yArray, lengths);
        Tensor<T> gradOutput = Tensor.Create(dy, lengths);
        Tensor<T> gradInput = Tensor.Create(dxArray, lengths);
        tensorLayer.Forward(input, output);
        tensorLayer.Backward(input, gradOutput, gradInput);

        AssertSameState(spanLayer, tensorLayer);
        Expect.BitwiseEqual<T>(spanY, yArray, "output");
        Expect.BitwiseEqual<T>(spanDx, dxArray, "gradInput");
    }

    [Fact]
    public void Forward_SameTensorForInputAndOutput_MatchesSpanApiInPlace()
    {
        int[] shape = [7, 3];
        T[] x = TestData.Gaussian<T>(41, 21);
        T[] spanData = (T[])x.Clone();
        T[] tensorData = (T[])x.Clone();
        BatchNormBase<T> spanLayer = CreateLayer(shape);
        BatchNormBase<T> tensorLayer = CreateLayer(shape);
        spanLayer.Forward(spanData, shape, spanData);
        var tensor = new TensorSpan<T>(tensorData, ToLengths(shape));
        tensorLayer.Forward(tensor, tensor);

        Expect.BitwiseEqual<T>(spanData, tensorData, "in-place output");
    }

    [Fact]
    public void Backward_EmptyGradInput_SkipsItAndAccumulatesParameterGradients()
    {
        int[] shape = [6, 2, 3];
        nint[] lengths = ToLengths(shape);
        T[] x = TestData.Gaussian<T>(51, 36);
        T[] dy = TestData.Gaussian<T>(52, 36);
        BatchNormBase<T> spanLayer = CreateLayer(shape);
        BatchNormBase<T> tensorLayer = CreateLayer(shape);
        var y = new T[36];
        spanLayer.Forward(x, shape, y);
        spanLayer.Backward(x, shape, dy, Span<T>.Empty);
        tensorLayer.Forward(new ReadOnlyTensorSpan<T>(x, lengths), new TensorSpan<T>(y, lengths));
        tensorLayer.Backward(new ReadOnlyTensorSpan<T>(x, lengths), new ReadOnlyTensorSpan<T>(dy, lengths), TensorSpan<T>.Empty);

        AssertSameState(spanLayer, tensorLayer);
    }

    [Fact]
    public void Forward_StridedChannelSlice_ThrowsAndChangesNothing()
    {
        // (4, 6, 5) sliced to channels 1..3: lengths (4, 3, 5) with strides (30, 5, 1), not dense.
        T[] data = TestData.Gaussian<T>(61, 4 * 6 * 5);
        var full = new ReadOnlyTensorSpan<T>(data, [4, 6, 5]);
        ReadOnlyTensorSpan<T> slice = full.Slice([NRange.All, new NRange(1, 4), NRange.All]);
        Assert.False(slice.IsDense);
        var layer = new BatchNorm1d<T>(3);
        var output = new T[4 * 3 * 5];

        ArgumentException? e = null;
        try
        {
            layer.Forward(slice, new TensorSpan<T>(output, [4, 3, 5]));
        }
        catch (ArgumentException caught)
        {
            e = caught;
        }

        e = AssertArgumentException(e);

        Assert.Equal("input", e.ParamName);
        Assert.Contains("dense", e.Message, StringComparison.Ordinal);
        Assert.Contains("[30, 5, 1]", e.Message, StringComparison.Ordinal);
        AssertUntouched(layer);
        Assert.All(output, v => Assert.Equal(T.Zero, v));
    }

    [Fact]
    public void Forward_TransposedInput_Throws()
    {
        // A (3, 4) view of a row-major (4, 3) array with strides (1, 3): every element, but column-major.
        T[] data = TestData.Gaussian<T>(62, 12);
        var transposed = new ReadOnlyTensorSpan<T>(data, [3, 4], [1, 3]);
        var layer = new BatchNorm1d<T>(4);

        ArgumentException? e = null;
        try
        {
            layer.Forward(transposed, new TensorSpan<T>(new T[12], [3, 4]));
        }
        catch (ArgumentException caught)
        {
            e = caught;
        }

        e = AssertArgumentException(e);

        Assert.Equal("input", e.ParamName);
        AssertUntouched(layer);
    }

    [Fact]
    public void Forward_BroadcastInput_Throws()
    {
        // One row of 3 broadcast to (5, 3) with stride 0.
        T[] row = TestData.Gaussian<T>(63, 3);
        var broadcast = new ReadOnlyTensorSpan<T>(row, [5, 3], [0, 1]);
        var layer = new BatchNorm1d<T>(3);

        ArgumentException? e = null;
        try
        {
            layer.Forward(broadcast, new TensorSpan<T>(new T[15], [5, 3]));
        }
        catch (ArgumentException caught)
        {
            e = caught;
        }

        e = AssertArgumentException(e);

        Assert.Equal("input", e.ParamName);
        AssertUntouched(layer);
    }

    [Fact]
    public void Forward_StridedOutput_ThrowsAndChangesNothing()
    {
        T[] x = TestData.Gaussian<T>(64, 12);
        var outputData = new T[4 * 6];
        TensorSpan<T> output = new TensorSpan<T>(outputData, [4, 6]).Slice([NRange.All, new NRange(0, 3)]);
        var layer = new BatchNorm1d<T>(3);

        ArgumentException? e = null;
        try
        {
            layer.Forward(new ReadOnlyTensorSpan<T>(x, [4, 3]), output);
        }
        catch (ArgumentException caught)
        {
            e = caught;
        }

        e = AssertArgumentException(e);

        Assert.Equal("output", e.ParamName);
        AssertUntouched(layer);
        Assert.All(outputData, v => Assert.Equal(T.Zero, v));
    }

    [Fact]
    public void Forward_DenseRowSlice_IsAcceptedAndMatchesSpanApi()
    {
        // Rows 2..5 of a (8, 3) array are dense: the slice is used in place.
        T[] data = TestData.Gaussian<T>(65, 24);
        ReadOnlyTensorSpan<T> rows = new ReadOnlyTensorSpan<T>(data, [8, 3]).Slice([new NRange(2, 6), NRange.All]);
        Assert.True(rows.IsDense);
        var spanLayer = new BatchNorm1d<T>(3);
        var tensorLayer = new BatchNorm1d<T>(3);
        var spanY = new T[12];
        var tensorY = new T[12];
        spanLayer.Forward(data.AsSpan(6, 12), [4, 3], spanY);
        tensorLayer.Forward(rows, new TensorSpan<T>(tensorY, [4, 3]));

        AssertSameState(spanLayer, tensorLayer);
        Expect.BitwiseEqual<T>(spanY, tensorY, "output");
    }

    [Fact]
    public void Backward_StridedGradOutputOrGradInput_ThrowsAndChangesNothing()
    {
        int[] shape = [4, 3];
        nint[] lengths = ToLengths(shape);
        T[] x = TestData.Gaussian<T>(66, 12);
        var layer = new BatchNorm1d<T>(3);
        layer.Forward(new ReadOnlyTensorSpan<T>(x, lengths), new TensorSpan<T>(new T[12], lengths));
        T[] wide = TestData.Gaussian<T>(67, 24);
        var dx = new T[12];

        ArgumentException gradOutput = Assert.Throws<ArgumentException>(() => layer.Backward(
            new ReadOnlyTensorSpan<T>(x, lengths),
            new ReadOnlyTensorSpan<T>(wide, [4, 6]).Slice([NRange.All, new NRange(3, 6)]),
            new TensorSpan<T>(dx, lengths)));
        ArgumentException gradInput = Assert.Throws<ArgumentException>(() => layer.Backward(
            new ReadOnlyTensorSpan<T>(x, lengths),
            new ReadOnlyTensorSpan<T>(x, lengths),
            new TensorSpan<T>(new T[24], [4, 6]).Slice([NRange.All, new NRange(0, 3)])));

        Assert.Equal("gradOutput", gradOutput.ParamName);
        Assert.Equal("gradInput", gradInput.ParamName);
        Assert.All(layer.WeightGradient.ToArray(), v => Assert.Equal(T.Zero, v));
        Assert.All(layer.BiasGradient.ToArray(), v => Assert.Equal(T.Zero, v));
        Assert.All(dx, v => Assert.Equal(T.Zero, v));
    }

    [Fact]
    public unsafe void Forward_DimensionAboveIntMax_Throws()
    {
        // Stride-0 views describe huge shapes over a few real elements; the dimension check comes before density's.
        T[] data = new T[8];
        var layer = new BatchNorm1d<T>(2);
        fixed (T* p = data)
        {
            nint big = unchecked((nint)3_000_000_000L);
            var input = new ReadOnlyTensorSpan<T>(p, data.Length, [2, 2, big], [0, 0, 0]);
            var output = new TensorSpan<T>(p, data.Length, [2, 2, big], [0, 0, 0]);

            ArgumentException? caught = null;
            try
            {
                layer.Forward(input, output);
            }
            catch (ArgumentException ex)
            {
                caught = ex;
            }

            ArgumentException e = AssertArgumentException(caught);

            Assert.Equal("input", e.ParamName);
            Assert.Contains("dimension 2 is 3000000000", e.Message, StringComparison.Ordinal);
        }

        AssertUntouched(layer);
    }

    [Fact]
    public unsafe void Forward_ElementCountAboveIntMax_Throws()
    {
        // Each dimension fits in int; 70000 * 2 * 70000 does not.
        T[] data = new T[8];
        var layer = new BatchNorm1d<T>(2);
        fixed (T* p = data)
        {
            var input = new ReadOnlyTensorSpan<T>(p, data.Length, [70000, 2, 70000], [0, 0, 0]);
            var output = new TensorSpan<T>(p, data.Length, [70000, 2, 70000], [0, 0, 0]);

            ArgumentException? caught = null;
            try
            {
                layer.Forward(input, output);
            }
            catch (ArgumentException ex)
            {
                caught = ex;
            }

            ArgumentException e = AssertArgumentException(caught);

            Assert.Equal("input", e.ParamName);
            Assert.Contains("9800000000", e.Message, StringComparison.Ordinal);
        }

        AssertUntouched(layer);
    }

    [Fact]
    public void Forward_WrongRankOrChannels_ThrowsNamingInput()
    {
        var layer = new BatchNorm2d<T>(3);
        var rank3 = new T[2 * 3 * 4];
        var wrongChannels = new T[2 * 4 * 2 * 2];

        ArgumentException rank = Assert.Throws<ArgumentException>(
            () => layer.Forward(new ReadOnlyTensorSpan<T>(rank3, [2, 3, 4]), new TensorSpan<T>(new T[24], [2, 3, 4])));
        ArgumentException channels = Assert.Throws<ArgumentException>(
            () => layer.Forward(new ReadOnlyTensorSpan<T>(wrongChannels, [2, 4, 2, 2]), new TensorSpan<T>(new T[32], [2, 4, 2, 2])));

        Assert.Equal("input", rank.ParamName);
        Assert.Contains("rank 3", rank.Message, StringComparison.Ordinal);
        Assert.Equal("input", channels.ParamName);
        Assert.Contains("Expected 3 channels", channels.Message, StringComparison.Ordinal);
        AssertUntouched(layer);
    }

    [Fact]
    public void Forward_OutputLengthsDiffer_ThrowsNamingOutput()
    {
        // Same element count, different lengths: rejected even though the span API would accept the memory.
        var layer = new BatchNorm1d<T>(3);
        T[] x = TestData.Gaussian<T>(71, 12);

        ArgumentException e = Assert.Throws<ArgumentException>(
            () => layer.Forward(new ReadOnlyTensorSpan<T>(x, [4, 3]), new TensorSpan<T>(new T[12], [2, 6])));

        Assert.Equal("output", e.ParamName);
        Assert.Contains("[2, 6]", e.Message, StringComparison.Ordinal);
        AssertUntouched(layer);
    }

    [Fact]
    public void Backward_BeforeForward_ThrowsInvalidOperation()
    {
        var layer = new BatchNorm1d<T>(3);
        var x = new T[12];

        Assert.Throws<InvalidOperationException>(() => layer.Backward(
            new ReadOnlyTensorSpan<T>(x, [4, 3]), new ReadOnlyTensorSpan<T>(x, [4, 3]), new TensorSpan<T>(new T[12], [4, 3])));
    }

    [Fact]
    public void Backward_ShapeOtherThanLastForward_ThrowsNamingInput()
    {
        var layer = new BatchNorm1d<T>(3);
        T[] x = TestData.Gaussian<T>(72, 24);
        layer.Forward(new ReadOnlyTensorSpan<T>(x, [8, 3]), new TensorSpan<T>(new T[24], [8, 3]));

        ArgumentException e = Assert.Throws<ArgumentException>(() => layer.Backward(
            new ReadOnlyTensorSpan<T>(x, [4, 3, 2]), new ReadOnlyTensorSpan<T>(x, [4, 3, 2]), new TensorSpan<T>(new T[24], [4, 3, 2])));

        Assert.Equal("input", e.ParamName);
        Assert.Contains("[8, 3]", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Assert.Throws for calls on ref structs, which lambdas cannot capture: exactly ArgumentException.</summary>
    private static ArgumentException AssertArgumentException(ArgumentException? caught)
    {
        Assert.NotNull(caught);
        Assert.Equal(typeof(ArgumentException), caught.GetType());
        return caught;
    }

    private static BatchNormBase<T> CreateLayer(int[] shape) => TestData.CreateLayer<T>(shape.Length, shape[1]);

    private static nint[] ToLengths(int[] shape) => Array.ConvertAll(shape, d => (nint)d);

    private static void AssertSameState(BatchNormBase<T> expected, BatchNormBase<T> actual)
    {
        Assert.Equal(expected.NumBatchesTracked, actual.NumBatchesTracked);
        Expect.BitwiseEqual<T>(expected.RunningMean, actual.RunningMean, "running mean");
        Expect.BitwiseEqual<T>(expected.RunningVariance, actual.RunningVariance, "running variance");
        Expect.BitwiseEqual<T>(expected.WeightGradient, actual.WeightGradient, "weight gradient");
        Expect.BitwiseEqual<T>(expected.BiasGradient, actual.BiasGradient, "bias gradient");
    }

    private static void AssertUntouched(BatchNormBase<T> layer)
    {
        Assert.Equal(0, layer.NumBatchesTracked);
        Assert.All(layer.RunningMean.ToArray(), v => Assert.Equal(T.Zero, v));
        Assert.All(layer.RunningVariance.ToArray(), v => Assert.Equal(T.One, v));
        Assert.Throws<InvalidOperationException>(() => layer.Backward(ReadOnlySpan<T>.Empty, [2, layer.NumFeatures], ReadOnlySpan<T>.Empty, Span<T>.Empty));
    }
}

public sealed class TensorOverloadTestsFloat : TensorOverloadTests<float>
{
}

public sealed class TensorOverloadTestsDouble : TensorOverloadTests<double>
{
}
