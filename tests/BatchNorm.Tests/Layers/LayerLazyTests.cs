using System;
using System.Numerics;
using System.Numerics.Tensors;
using BatchNorm.Inference;
using BatchNorm.Serialization;
using Xunit;

namespace BatchNorm.Tests.Layers;

/// <summary>
/// Lazy layers (PyTorch's <c>LazyBatchNorm*d</c>): no channel count until the first successful forward or checkpoint
/// load, then exactly the layer the constructor would have made; a failed first forward leaves them lazy; what needs a
/// channel count refuses before it.
/// </summary>
public abstract class LayerLazyTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [Fact]
    public void TheFirstForward_GivesTheChannelCount_AndTheResultsOfAnEagerLayer()
    {
        BatchNorm2d<T> lazy = BatchNorm2d<T>.CreateLazy(), eager = new(5);
        Assert.Equal((0, 0, 0), (lazy.NumFeatures, lazy.Weight.Length, lazy.RunningMean.Length));
        int[] shape = [3, 5, 4, 4];
        T[] x = TestData.Gaussian<T>(1, 240, 2, 3), dy = TestData.Gaussian<T>(2, 240);
        T[] y1 = new T[240], y2 = new T[240], dx1 = new T[240], dx2 = new T[240];
        lazy.Forward(x, shape, y1);
        eager.Forward(x, shape, y2);
        lazy.Backward(x, shape, dy, dx1);
        eager.Backward(x, shape, dy, dx2);
        Assert.Equal(5, lazy.NumFeatures);
        Expect.BitwiseEqual<T>(y2, y1, "output");
        Expect.BitwiseEqual<T>(dx2, dx1, "gradInput");
        Expect.BitwiseEqual<T>(eager.RunningVariance, lazy.RunningVariance, "running variance");
        Expect.BitwiseEqual<T>(eager.WeightGradient, lazy.WeightGradient, "weight gradient");
        Assert.Throws<ArgumentException>(() => lazy.Forward(new T[288], [3, 6, 4, 4], new T[288]));
    }

    [Fact]
    public void AFailedFirstForward_LeavesTheLayerLazy_AndTensorsMaterializeIt()
    {
        BatchNorm1d<T> layer = BatchNorm1d<T>.CreateLazy(affine: false);
        Assert.Throws<ArgumentException>(() => layer.Forward(new T[12], [4, 3], new T[11]));
        Assert.Equal(0, layer.NumFeatures);

        // Checks that come after the channel count is known (too few values; a non-finite batch refused) leave it lazy too.
        Assert.Throws<ArgumentException>(() => layer.Forward(new T[3], [1, 3], new T[3]));
        layer.NonFiniteStatisticsPolicy = NonFiniteStatisticsPolicy.Throw;
        T[] poisoned = TestData.Gaussian<T>(4, 12);
        poisoned[5] = T.NaN;
        Assert.Throws<ArgumentException>(() => layer.Forward(poisoned, [4, 3], new T[12]));
        Assert.Equal(0, layer.NumFeatures);
        layer.NonFiniteStatisticsPolicy = NonFiniteStatisticsPolicy.Propagate;
        layer.Forward(Tensor.Create(TestData.Gaussian<T>(3, 12), [4, 3]), Tensor.Create(new T[12], [4, 3]));
        Assert.Equal((3, 0, 3), (layer.NumFeatures, layer.Weight.Length, layer.RunningMean.Length));
    }

    [Fact]
    public void ACheckpoint_GivesTheChannelCountAndTheState()
    {
        var source = new BatchNorm3d<T>(4);
        TestData.Values<T>(1, 2, 3, 4).CopyTo(source.Weight);
        TestData.Values<T>(5, 6, 7, 8).CopyTo(source.RunningMean);
        BatchNorm3d<T> lazy = BatchNorm3d<T>.CreateLazy();
        SafeTensors.Load(lazy, SafeTensors.Save(source, "bn."), "bn.");
        Assert.Equal(4, lazy.NumFeatures);
        Expect.BitwiseEqual<T>(source.Weight, lazy.Weight, "weight");
        Expect.BitwiseEqual<T>(source.RunningMean, lazy.RunningMean, "running mean");
    }

    [Fact]
    public void WhatNeedsAChannelCount_RefusesBeforeTheFirstForward()
    {
        BatchNorm1d<T> lazy = BatchNorm1d<T>.CreateLazy();
        lazy.Eval();
        Assert.Contains("lazy", Assert.Throws<InvalidOperationException>(() => SafeTensors.Save(lazy)).Message);
        Assert.Contains("lazy", Assert.Throws<InvalidOperationException>(() => BatchNormFolding.ToAffine(lazy, Span<T>.Empty, Span<T>.Empty)).Message);
        Assert.Contains("lazy", Assert.Throws<ArgumentException>(() => PreciseBatchNorm.Recalibrate<T>([lazy], 1, _ => { })).Message);
        Assert.Throws<InvalidOperationException>(() => lazy.Backward(new T[6], [2, 3], new T[6], new T[6]));
        Assert.Equal(0, lazy.NumFeatures);
    }
}

public sealed class LayerLazyTestsFloat : LayerLazyTests<float>;

public sealed class LayerLazyTestsDouble : LayerLazyTests<double>;
