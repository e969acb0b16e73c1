using System;
using System.Numerics;
using Xunit;

namespace BatchNorm.Tests.Layers;

/// <summary>
/// <see cref="BatchNormBase{T}.VirtualBatchSize"/> (ghost batch norm): each ghost batch against the double reference
/// run on it alone (output, input gradient, parameter gradients summed over the ghost batches), the running statistics
/// against tf-keras's rule (one update with the average of the ghost batches' statistics), channels-last data, and
/// the error contract.
/// </summary>
public abstract class LayerGhostBatchTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [Theory]
    [InlineData(new[] { 8, 3, 5 }, 2)]
    [InlineData(new[] { 12, 4 }, 3)]
    [InlineData(new[] { 6, 2, 3, 4 }, 6)]
    public void EachGhostBatch_IsNormalizedAndDifferentiatedOnItsOwn(int[] shape, int virtualBatchSize)
    {
        int length = TestData.Length(shape), channels = shape[1], ghosts = shape[0] / virtualBatchSize, ghostLength = length / ghosts;
        BatchNormBase<T> layer = TestData.CreateLayer<T>(shape.Length, channels);
        layer.VirtualBatchSize = virtualBatchSize;
        T[] weight = TestData.Convert<T>(TestData.Uniform(1, channels, 0.5, 2)), bias = TestData.Convert<T>(TestData.Uniform(2, channels, -1, 1));
        weight.CopyTo(layer.Weight);
        bias.CopyTo(layer.Bias);
        T[] x = TestData.Gaussian<T>(3, length, 2, 3), dy = TestData.Gaussian<T>(4, length), y = new T[length], dx = new T[length];
        layer.Forward(x, shape, y);
        layer.Backward(x, shape, dy, dx);

        int[] ghostShape = (int[])shape.Clone();
        ghostShape[0] = virtualBatchSize;
        double[] weightGradient = new double[channels], biasGradient = new double[channels], mean = new double[channels], variance = new double[channels];
        for (int g = 0; g < ghosts; g++)
        {
            var reference = new ReferenceBatchNorm(channels, momentum: 1);
            TestData.ToDouble<T>(weight).CopyTo(reference.Weight, 0);
            TestData.ToDouble<T>(bias).CopyTo(reference.Bias, 0);
            double[] xg = TestData.ToDouble<T>(x.AsSpan(g * ghostLength, ghostLength)), dyg = TestData.ToDouble<T>(dy.AsSpan(g * ghostLength, ghostLength));
            Expect.Close<T>(reference.Forward(xg, ghostShape), y.AsSpan(g * ghostLength, ghostLength), Tolerances.For<T>(), $"output of ghost batch {g}");
            Expect.Close<T>(reference.Backward(xg, ghostShape, dyg), dx.AsSpan(g * ghostLength, ghostLength), Tolerances.For<T>(), $"gradInput of ghost batch {g}", 1);
            for (int c = 0; c < channels; c++)
            {
                (weightGradient[c], biasGradient[c]) = (weightGradient[c] + reference.WeightGrad[c], biasGradient[c] + reference.BiasGrad[c]);
                (mean[c], variance[c]) = (mean[c] + reference.RunningMean[c] / ghosts, variance[c] + reference.RunningVar[c] / ghosts);
            }
        }

        Expect.Close<T>(weightGradient, layer.WeightGradient, Tolerances.For<T>(), "weight gradient", Math.Sqrt(length));
        Expect.Close<T>(biasGradient, layer.BiasGradient, Tolerances.For<T>(), "bias gradient", Math.Sqrt(length));

        // tf-keras: one update with the average of the ghost batches' means and (here unbiased) variances; momentum 0.1.
        for (int c = 0; c < channels; c++)
        {
            (mean[c], variance[c]) = (0.1 * mean[c], 0.9 + (0.1 * variance[c]));
        }

        Expect.Close<T>(mean, layer.RunningMean, Tolerances.For<T>(), "running mean");
        Expect.Close<T>(variance, layer.RunningVariance, Tolerances.For<T>(), "running variance");
        Assert.Equal(1, layer.NumBatchesTracked);
    }

    [Fact]
    public void ChannelsLast_MatchesChannelsFirst()
    {
        int[] shape = [6, 5, 3, 4];
        int length = TestData.Length(shape);
        BatchNormBase<T> first = TestData.CreateLayer<T>(4, 5), last = TestData.CreateLayer<T>(4, 5);
        first.VirtualBatchSize = last.VirtualBatchSize = 2;
        last.MemoryFormat = BatchNormMemoryFormat.ChannelsLast;
        T[] x = TestData.Gaussian<T>(5, length, 1, 2), dy = TestData.Gaussian<T>(6, length);
        T[] y1 = new T[length], y2 = new T[length], dx1 = new T[length], dx2 = new T[length];
        first.Forward(x, shape, y1);
        first.Backward(x, shape, dy, dx1);
        T[] xLast = TestData.Permute<T>(x, shape, true);
        last.Forward(xLast, shape, y2);
        last.Backward(xLast, shape, TestData.Permute<T>(dy, shape, true), dx2);
        Expect.Close<T>(TestData.ToDouble<T>(y1), TestData.Permute<T>(y2, shape, false), Tolerances.For<T>(), "output");
        Expect.Close<T>(TestData.ToDouble<T>(dx1), TestData.Permute<T>(dx2, shape, false), Tolerances.For<T>(), "gradInput", 1);
        Expect.Close<T>(TestData.ToDouble<T>(first.RunningVariance), last.RunningVariance, Tolerances.For<T>(), "running variance");
    }

    [Fact]
    public void Evaluation_IsUnaffected_AndMisuseThrows()
    {
        BatchNormBase<T> ghost = new BatchNorm1d<T>(3) { VirtualBatchSize = 2 }, plain = new BatchNorm1d<T>(3);
        T[] x = TestData.Gaussian<T>(7, 18, 1, 2), y1 = new T[18], y2 = new T[18];
        ghost.Eval();
        plain.Eval();
        ghost.Forward(x, [6, 3], y1);
        plain.Forward(x, [6, 3], y2);
        Expect.BitwiseEqual<T>(y2, y1, "evaluation output");

        ghost.Train();
        T[] mean = ghost.RunningMean.ToArray();
        var error = Assert.Throws<ArgumentException>(() => ghost.Forward(x.AsSpan(0, 15), [5, 3], new T[15]));
        Assert.Equal("shape", error.ParamName);
        Assert.Contains("multiple of VirtualBatchSize 2", error.Message);
        Expect.BitwiseEqual<T>(mean, ghost.RunningMean, "running mean");
        Assert.Throws<ArgumentException>(() => new BatchNorm1d<T>(3) { VirtualBatchSize = 1 }.Forward(x, [6, 3], y1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ghost.VirtualBatchSize = 0);
        Assert.Equal(2, ghost.VirtualBatchSize);
        ghost.Renormalization = new BatchRenormalization();
        Assert.Throws<NotSupportedException>(() => ghost.Forward(x, [6, 3], y1));
    }
}

public sealed class LayerGhostBatchTestsFloat : LayerGhostBatchTests<float>;

public sealed class LayerGhostBatchTestsDouble : LayerGhostBatchTests<double>;
