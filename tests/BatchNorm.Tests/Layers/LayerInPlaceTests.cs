using System;
using System.Numerics;
using Xunit;

namespace BatchNorm.Tests.Layers;

/// <summary>
/// Backward refuses an input that is not the one its Forward normalized — a forward in place, or the buffer reused —
/// with an <see cref="InvalidOperationException"/> naming the likely cause, and changes nothing; an unchanged input is
/// never refused (any thread count, NaN included).
/// </summary>
public abstract class LayerInPlaceTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public static TheoryData<int[], bool> ShapesAndModes => new()
    {
        { [37, 70], true }, { [37, 70], false }, { [4, 6, 5, 5], true }, { [4, 6, 5, 5], false },
        { [2, 3, 40, 40], true }, { [3, 2, 4, 3, 5], true }, { [2, 3], true }, { [3, 1, 2], true },
        { [8, 64, 32, 32], true },
    };

    [Theory]
    [MemberData(nameof(ShapesAndModes))]
    public void Backward_AfterForwardInPlace_ThrowsNamingTheCauseAndChangesNothing(int[] shape, bool training)
    {
        BatchNormBase<T> layer = Layer(shape, training);
        T[] x = TestData.Gaussian<T>(1, TestData.Length(shape), 2, 3);
        layer.Forward(x, shape, x);
        T[] weightGradient = layer.WeightGradient.ToArray();
        var dx = new T[x.Length];

        var error = Assert.Throws<InvalidOperationException>(() => layer.Backward(x, shape, TestData.Gaussian<T>(2, x.Length), dx));

        Assert.Contains("forward in place", error.Message, StringComparison.Ordinal);
        Assert.Contains("BackwardFromOutput", error.Message, StringComparison.Ordinal);
        Expect.BitwiseEqual<T>(weightGradient, layer.WeightGradient, "WeightGradient");
        Assert.All(dx, value => Assert.Equal(T.Zero, value));
    }

    [Theory]
    [MemberData(nameof(ShapesAndModes))]
    public void Backward_AfterInputBufferReused_Throws(int[] shape, bool training)
    {
        BatchNormBase<T> layer = Layer(shape, training);
        T[] x = TestData.Gaussian<T>(3, TestData.Length(shape), 2, 3);
        layer.Forward(x, shape, new T[x.Length]);
        TestData.Gaussian<T>(4, x.Length, 2, 3).CopyTo(x, 0);

        var error = Assert.Throws<InvalidOperationException>(() => layer.Backward(x, shape, TestData.Gaussian<T>(5, x.Length), new T[x.Length]));

        Assert.Contains("reused", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ShapesAndModes))]
    public void Backward_UnchangedInput_IsAcceptedOnEveryThreadCount_NaNIncluded(int[] shape, bool training)
    {
        foreach (int threads in new[] { 1, 2, -1 })
        {
            BatchNormBase<T> layer = Layer(shape, training);
            layer.MaxDegreeOfParallelism = threads;
            T[] x = TestData.Gaussian<T>(6, TestData.Length(shape), 2, 3);
            x[x.Length / 2] = T.NaN;
            layer.Forward(x, shape, new T[x.Length]);
            T[] copy = (T[])x.Clone();

            layer.Backward(x, shape, TestData.Gaussian<T>(7, x.Length), new T[x.Length]);
            layer.Backward(copy, shape, TestData.Gaussian<T>(7, x.Length), new T[x.Length]);
        }
    }

    private static BatchNormBase<T> Layer(int[] shape, bool training)
    {
        BatchNormBase<T> layer = TestData.CreateLayer<T>(shape.Length, shape[1]);
        layer.Train(training);
        return layer;
    }
}

public sealed class LayerInPlaceTestsFloat : LayerInPlaceTests<float>
{
}

public sealed class LayerInPlaceTestsDouble : LayerInPlaceTests<double>
{
}
