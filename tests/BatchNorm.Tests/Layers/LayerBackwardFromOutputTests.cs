using System;
using System.Linq;
using System.Numerics;
using Xunit;

namespace BatchNorm.Tests.Layers;

/// <summary>
/// <see cref="BatchNormBase{T}.BackwardFromOutput(ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, Span{T})"/>
/// after a forward in place: against the backward from the input (within the documented bound), by finite differences,
/// and its refusals (a zero weight, a changed output, changed parameters), each leaving the layer unchanged.
/// </summary>
public abstract class LayerBackwardFromOutputTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public static TheoryData<int[], bool, bool, double> Cases => new()
    {
        { [37, 70], true, true, 1 }, { [37, 70], false, true, 1 }, { [6, 5, 7, 7], true, true, 0.25 },
        { [6, 5, 7, 7], false, true, 0.25 }, { [2, 3, 40, 40], true, true, 1 }, { [3, 4, 3, 5, 6], true, false, 1 },
        { [8, 3, 2], true, true, 0.05 }, { [16, 64, 16, 16], true, true, 1 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void BackwardFromOutput_AfterForwardInPlace_MatchesBackwardFromInput(int[] shape, bool training, bool affine, double weightScale)
    {
        BatchNormBase<T> fromInput = Layer(shape, training, affine, weightScale);
        BatchNormBase<T> fromOutput = Layer(shape, training, affine, weightScale);
        int length = TestData.Length(shape);
        T[] x = TestData.Gaussian<T>(1, length, 2, 3);
        T[] dy = TestData.Gaussian<T>(2, length);
        var dxExpected = new T[length];
        fromInput.Forward(x, shape, new T[length]);
        fromInput.Backward(x, shape, dy, dxExpected);

        T[] buffer = (T[])x.Clone();
        fromOutput.Forward(buffer, shape, buffer);
        fromOutput.BackwardFromOutput(buffer, shape, dy, buffer);

        double ratio = affine ? Enumerable.Range(0, shape[1]).Max(c => Math.Abs(double.CreateTruncating(fromInput.Bias[c]) / double.CreateTruncating(fromInput.Weight[c]))) : 0;
        double tolerance = Tolerances.FromOutput<T>(ratio);
        Expect.Close<T>(TestData.ToDouble<T>(dxExpected), buffer, tolerance, "gradInput");
        Expect.Close<T>(TestData.ToDouble<T>(fromInput.WeightGradient), fromOutput.WeightGradient, tolerance, "WeightGradient");
        Expect.Close<T>(TestData.ToDouble<T>(fromInput.BiasGradient), fromOutput.BiasGradient, tolerance, "BiasGradient");
    }

    [Fact]
    public void BackwardFromOutput_TensorOverload_MatchesSpanOverload()
    {
        int[] shape = [4, 3, 5, 5];
        int length = TestData.Length(shape);
        BatchNormBase<T> spans = Layer(shape, training: true, affine: true, weightScale: 1);
        BatchNormBase<T> tensors = Layer(shape, training: true, affine: true, weightScale: 1);
        T[] x = TestData.Gaussian<T>(3, length, 1, 2), y = TestData.Gaussian<T>(4, length);
        T[] a = (T[])x.Clone(), b = (T[])x.Clone();
        var dxSpans = new T[length];
        var dxTensors = new T[length];
        spans.Forward(a, shape, a);
        spans.BackwardFromOutput(a, shape, y, dxSpans);
        tensors.Forward(b, shape, b);
        nint[] lengths = [.. shape.Select(d => (nint)d)];
        tensors.BackwardFromOutput(
            new System.Numerics.Tensors.ReadOnlyTensorSpan<T>(b, lengths), new System.Numerics.Tensors.ReadOnlyTensorSpan<T>(y, lengths), new System.Numerics.Tensors.TensorSpan<T>(dxTensors, lengths));

        Expect.BitwiseEqual<T>(dxSpans, dxTensors, "gradInput");
        Expect.BitwiseEqual<T>(spans.WeightGradient, tensors.WeightGradient, "WeightGradient");
    }

    [Fact]
    public void BackwardFromOutput_ZeroWeight_ThrowsNamingTheChannelAndChangesNothing()
    {
        int[] shape = [5, 3, 4];
        BatchNormBase<T> layer = Layer(shape, training: true, affine: true, weightScale: 1);
        layer.Weight[2] = T.Zero;
        T[] x = TestData.Gaussian<T>(5, TestData.Length(shape));
        layer.Forward(x, shape, x);
        var dx = new T[x.Length];

        var error = Assert.Throws<InvalidOperationException>(() => layer.BackwardFromOutput(x, shape, TestData.Gaussian<T>(6, x.Length), dx));

        Assert.Contains("Weight[2] is 0", error.Message, StringComparison.Ordinal);
        Assert.All(layer.WeightGradient.ToArray(), g => Assert.Equal(T.Zero, g));
        Assert.All(dx, g => Assert.Equal(T.Zero, g));
    }

    [Fact]
    public void BackwardFromOutput_ChangedOutputOrParameters_Throws()
    {
        int[] shape = [5, 3, 4];
        BatchNormBase<T> layer = Layer(shape, training: true, affine: true, weightScale: 1);
        T[] x = TestData.Gaussian<T>(7, TestData.Length(shape));
        T[] dy = TestData.Gaussian<T>(8, x.Length);
        layer.Forward(x, shape, x);

        // The output buffer reused for other data (the check samples a few values per channel, not every element).
        T[] changed = TestData.Gaussian<T>(12, x.Length);
        Assert.Contains("not what the last Forward wrote", Assert.Throws<InvalidOperationException>(() => layer.BackwardFromOutput(changed, shape, dy, new T[x.Length])).Message, StringComparison.Ordinal);

        layer.Bias[0] += T.One;
        Assert.Contains("changed since the last Forward", Assert.Throws<InvalidOperationException>(() => layer.BackwardFromOutput(x, shape, dy, new T[x.Length])).Message, StringComparison.Ordinal);
        layer.Bias[0] -= T.One;
        layer.BackwardFromOutput(x, shape, dy, new T[x.Length]);
    }

    private static BatchNormBase<T> Layer(int[] shape, bool training, bool affine, double weightScale)
    {
        int channels = shape[1];
        BatchNormBase<T> layer = TestData.CreateLayer<T>(shape.Length, channels, affine: affine);
        if (affine)
        {
            for (int c = 0; c < channels; c++)
            {
                layer.Weight[c] = T.CreateTruncating(weightScale * (c % 2 == 0 ? 1 + (0.25 * c) : -0.5 - (0.1 * c)));
                layer.Bias[c] = T.CreateTruncating(0.5 - (0.2 * c));
            }
        }

        if (!training)
        {
            T[] warm = TestData.Gaussian<T>(9, TestData.Length(shape), 1.5, 2);
            layer.Forward(warm, shape, new T[warm.Length]);
            layer.Eval();
        }

        return layer;
    }
}

public sealed class LayerBackwardFromOutputTestsFloat : LayerBackwardFromOutputTests<float>
{
}

public sealed class LayerBackwardFromOutputTestsDouble : LayerBackwardFromOutputTests<double>
{
    /// <summary>Finite differences of L = Σ g·y(x) against the backward from the output, for a forward in place.</summary>
    [Fact]
    public void BackwardFromOutput_MatchesFiniteDifferences()
    {
        int[] shape = [4, 3, 5];
        int length = TestData.Length(shape);
        double[] x = TestData.Gaussian(10, length, 1, 2);
        double[] g = TestData.Gaussian(11, length);
        BatchNorm1d<double> layer = Fresh();
        double[] buffer = (double[])x.Clone();
        layer.Forward(buffer, shape, buffer);
        layer.BackwardFromOutput(buffer, shape, g, buffer);

        double h = Tolerances.FiniteDifferenceStep;
        for (int i = 0; i < length; i++)
        {
            double[] plus = (double[])x.Clone(), minus = (double[])x.Clone();
            plus[i] += h;
            minus[i] -= h;
            double numeric = (Loss(plus, shape, g) - Loss(minus, shape, g)) / (2 * h);
            Assert.True(Math.Abs(numeric - buffer[i]) <= Tolerances.FiniteDifference * (1 + Math.Abs(numeric)), $"dx[{i}]: numeric {numeric:R}, backward {buffer[i]:R}");
        }
    }

    private static BatchNorm1d<double> Fresh()
    {
        var layer = new BatchNorm1d<double>(3);
        layer.Weight[0] = 0.5;
        layer.Weight[1] = 1.5;
        layer.Weight[2] = -2;
        layer.Bias[0] = 0.25;
        layer.Bias[2] = -1;
        return layer;
    }

    private static double Loss(double[] x, int[] shape, double[] g)
    {
        var y = new double[x.Length];
        Fresh().Forward(x, shape, y);
        return y.Zip(g, (a, b) => a * b).Sum();
    }
}
