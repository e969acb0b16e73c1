using System;
using System.Numerics;
using System.Threading.Tasks;
using BatchNorm.Distributed;
using Xunit;

namespace BatchNorm.Tests.Layers;

/// <summary>
/// <see cref="BatchNormBase{T}.FrozenStatistics"/>: a frozen layer in training mode computes exactly what the same layer
/// computes in evaluation (forward and backward, bit for bit), never touches its running statistics or count, stays
/// frozen through <c>Train()</c>, does not synchronize, and refuses to freeze what it does not track.
/// </summary>
public abstract class LayerFrozenStatisticsTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [Theory]
    [InlineData(new[] { 6, 4 })]
    [InlineData(new[] { 3, 5, 7, 7 })]
    [InlineData(new[] { 2, 3, 64, 70 })]
    public void FrozenTraining_IsTheEvaluationForwardAndBackward_BitForBit(int[] shape)
    {
        int length = TestData.Length(shape), channels = shape[1];
        BatchNormBase<T> frozen = Trained(shape), evaluated = Trained(shape);
        frozen.FrozenStatistics = true;
        frozen.Train();
        evaluated.Eval();
        T[] mean = frozen.RunningMean.ToArray(), variance = frozen.RunningVariance.ToArray();
        long count = frozen.NumBatchesTracked;
        T[] x = TestData.Gaussian<T>(9, length, 1, 2), dy = TestData.Gaussian<T>(10, length);
        T[] y1 = new T[length], y2 = new T[length], dx1 = new T[length], dx2 = new T[length];

        frozen.Forward(x, shape, y1);
        evaluated.Forward(x, shape, y2);
        frozen.Backward(x, shape, dy, dx1);
        evaluated.Backward(x, shape, dy, dx2);

        Expect.BitwiseEqual<T>(y2, y1, "output");
        Expect.BitwiseEqual<T>(dx2, dx1, "gradInput");
        Expect.BitwiseEqual<T>(evaluated.WeightGradient, frozen.WeightGradient, "weight gradient");
        Expect.BitwiseEqual<T>(evaluated.BiasGradient, frozen.BiasGradient, "bias gradient");
        Expect.BitwiseEqual<T>(mean, frozen.RunningMean, "running mean");
        Expect.BitwiseEqual<T>(variance, frozen.RunningVariance, "running variance");
        Assert.Equal(count, frozen.NumBatchesTracked);
        Assert.True(frozen.IsTraining);
        Assert.Equal(channels, frozen.WeightGradient.Length);
    }

    [Fact]
    public void TrainAndEval_DoNotUnfreeze_AndUnfreezingTrainsAgain()
    {
        int[] shape = [8, 3];
        BatchNormBase<T> layer = Trained(shape);
        layer.FrozenStatistics = true;
        layer.Eval();
        layer.Train();
        Assert.True(layer.FrozenStatistics);
        T[] before = layer.RunningMean.ToArray(), y = new T[24];
        layer.Forward(TestData.Gaussian<T>(3, 24, 5, 1), shape, y);
        Expect.BitwiseEqual<T>(before, layer.RunningMean, "running mean while frozen");

        layer.FrozenStatistics = false;
        layer.Forward(TestData.Gaussian<T>(3, 24, 5, 1), shape, y);
        Assert.False(layer.RunningMean.SequenceEqual(before));
    }

    [Fact]
    public void Freezing_ALayerWithoutRunningStatistics_ThrowsAndChangesNothing()
    {
        var layer = new BatchNorm1d<T>(3, trackRunningStatistics: false);
        var error = Assert.Throws<InvalidOperationException>(() => layer.FrozenStatistics = true);
        Assert.Contains("trackRunningStatistics: false", error.Message);
        Assert.False(layer.FrozenStatistics);
        layer.FrozenStatistics = false;
    }

    [Fact]
    public async Task AFrozenSynchronizedLayer_DoesNotJoinACollective()
    {
        using var group = new InProcessCommunicatorGroup(2, TimeSpan.FromSeconds(5));
        BatchNormBase<T> layer = Trained([8, 3]);
        layer.Communicator = group.Communicators[0];
        layer.FrozenStatistics = true;
        T[] x = TestData.Gaussian<T>(4, 24), y = new T[24], dx = new T[24];

        // Only this replica calls: a collective would wait for the other one until the group's timeout.
        Task run = Task.Run(() =>
        {
            layer.Forward(x, [8, 3], y);
            layer.Backward(x, [8, 3], x, dx);
        });
        Task first = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(4)));
        Assert.True(first == run, "the frozen layer waited in a collective");
        await run;
    }

    /// <summary>A layer of this shape's rank after two training steps, so its running statistics are not the initial ones.</summary>
    private static BatchNormBase<T> Trained(int[] shape)
    {
        BatchNormBase<T> layer = TestData.CreateLayer<T>(shape.Length, shape[1]);
        T[] weight = TestData.Convert<T>(TestData.Uniform(1, shape[1], 0.5, 2)), bias = TestData.Convert<T>(TestData.Uniform(2, shape[1], -1, 1));
        weight.CopyTo(layer.Weight);
        bias.CopyTo(layer.Bias);
        int length = TestData.Length(shape);
        T[] y = new T[length];
        layer.Forward(TestData.Gaussian<T>(5, length, 3, 2), shape, y);
        layer.Forward(TestData.Gaussian<T>(6, length, 3, 2), shape, y);
        return layer;
    }
}

public sealed class LayerFrozenStatisticsTestsFloat : LayerFrozenStatisticsTests<float>;

public sealed class LayerFrozenStatisticsTestsDouble : LayerFrozenStatisticsTests<double>;
