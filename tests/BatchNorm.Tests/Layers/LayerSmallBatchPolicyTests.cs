using System;
using System.Numerics;
using BatchNorm.Distributed;
using BatchNorm.Tests.Distributed;
using Xunit;

namespace BatchNorm.Tests.Layers;

/// <summary>
/// <see cref="BatchNormBase{T}.SmallBatchPolicy"/> on batches with one value per channel (and none): throw and change
/// nothing (the default), the running statistics for that call (bit for bit the evaluation layer's results), or the
/// batch's own statistics without an update (worked by hand: mean the value, variance 0, so y = bias, dx = 0,
/// bias gradient dy, weight gradient 0); in training, in evaluation without running statistics, and synchronized
/// (the policy follows the global count).
/// </summary>
public abstract class LayerSmallBatchPolicyTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private static readonly int[] s_oneSample = [1, 3];

    [Fact]
    public void Throw_IsTheDefault_AndChangesNothing()
    {
        BatchNormBase<T> layer = Layer();
        Assert.Equal(SmallBatchPolicy.Throw, layer.SmallBatchPolicy);
        T[] mean = layer.RunningMean.ToArray();
        var error = Assert.Throws<ArgumentException>(() => layer.Forward(Values(1, 2, 3), s_oneSample, new T[3]));
        Assert.Equal("input", error.ParamName);
        Expect.BitwiseEqual<T>(mean, layer.RunningMean, "running mean");
        Assert.Equal(2, layer.NumBatchesTracked);
    }

    [Fact]
    public void UseRunningStatistics_IsTheEvaluationCall_BitForBit()
    {
        BatchNormBase<T> layer = Layer(), evaluated = Layer();
        layer.SmallBatchPolicy = SmallBatchPolicy.UseRunningStatistics;
        evaluated.Eval();
        T[] x = Values(1, -2, 3), dy = Values(0.5, 1, -1), mean = layer.RunningMean.ToArray();
        T[] y1 = new T[3], y2 = new T[3], dx1 = new T[3], dx2 = new T[3];
        layer.Forward(x, s_oneSample, y1);
        evaluated.Forward(x, s_oneSample, y2);
        layer.Backward(x, s_oneSample, dy, dx1);
        evaluated.Backward(x, s_oneSample, dy, dx2);
        Expect.BitwiseEqual<T>(y2, y1, "output");
        Expect.BitwiseEqual<T>(dx2, dx1, "gradInput");
        Expect.BitwiseEqual<T>(evaluated.WeightGradient, layer.WeightGradient, "weight gradient");
        Expect.BitwiseEqual<T>(mean, layer.RunningMean, "running mean");
        Assert.Equal(2, layer.NumBatchesTracked);

        // Two values per channel: batch statistics and an update again.
        layer.Forward(Values(1, 2, 3, 4, 5, 6), [2, 3], new T[6]);
        Assert.Equal(3, layer.NumBatchesTracked);
    }

    [Fact]
    public void UseRunningStatistics_WithoutRunningStatistics_StillThrows()
    {
        var layer = new BatchNorm1d<T>(3, trackRunningStatistics: false) { SmallBatchPolicy = SmallBatchPolicy.UseRunningStatistics };
        Assert.Throws<ArgumentException>(() => layer.Forward(Values(1, 2, 3), s_oneSample, new T[3]));
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public void SkipUpdate_NormalizesToTheBias_AndLeavesTheRunningStatistics(bool training, bool track)
    {
        BatchNormBase<T> layer = track ? Layer() : new BatchNorm1d<T>(3, trackRunningStatistics: false);
        Values(2, 0.5, -1).CopyTo(layer.Weight);
        Values(0.25, -3, 7).CopyTo(layer.Bias);
        layer.Train(training);
        layer.SmallBatchPolicy = SmallBatchPolicy.SkipUpdate;
        T[] mean = layer.RunningMean.ToArray();
        long count = layer.NumBatchesTracked;
        T[] y = new T[3], dx = new T[3];
        layer.Forward(Values(10, -20, 30), s_oneSample, y);
        layer.Backward(Values(10, -20, 30), s_oneSample, Values(0.5, 1, -1), dx);

        Expect.BitwiseEqual<T>(Values(0.25, -3, 7), y, "output (the bias)");
        Expect.BitwiseEqual<T>(Values(0, 0, 0), dx, "gradInput");
        Expect.BitwiseEqual<T>(Values(0.5, 1, -1), layer.BiasGradient, "bias gradient (dy)");
        Expect.BitwiseEqual<T>(Values(0, 0, 0), layer.WeightGradient, "weight gradient");
        Expect.BitwiseEqual<T>(mean, layer.RunningMean, "running mean");
        Assert.Equal(count, layer.NumBatchesTracked);
    }

    [Fact]
    public void SkipUpdate_AnEmptyBatch_StillThrows()
    {
        BatchNormBase<T> layer = Layer();
        layer.SmallBatchPolicy = SmallBatchPolicy.SkipUpdate;
        Assert.Throws<ArgumentException>(() => layer.Forward(ReadOnlySpan<T>.Empty, [0, 3], Span<T>.Empty));
        Assert.Throws<ArgumentOutOfRangeException>(() => layer.SmallBatchPolicy = (SmallBatchPolicy)3);
        Assert.Equal(SmallBatchPolicy.SkipUpdate, layer.SmallBatchPolicy);
    }

    [Theory]
    [InlineData(SmallBatchPolicy.Throw)]
    [InlineData(SmallBatchPolicy.UseRunningStatistics)]
    [InlineData(SmallBatchPolicy.SkipUpdate)]
    public void Synchronized_ThePolicyFollowsTheGlobalCount(SmallBatchPolicy policy)
    {
        // Replica 0 holds one sample, replica 1 none: one value per channel in the global batch.
        using var group = new InProcessCommunicatorGroup(2);
        var outputs = new T[2][];
        Exception?[] errors = ReplicaRunner.Run(group, (rank, communicator) =>
        {
            BatchNormBase<T> layer = Layer();
            layer.SmallBatchPolicy = policy;
            layer.Communicator = communicator;
            int n = rank == 0 ? 1 : 0;
            T[] x = rank == 0 ? Values(1, -2, 3) : [], y = new T[3 * n], dx = new T[3 * n];
            layer.Forward(x, [n, 3], y);
            layer.Backward(x, [n, 3], x, dx);
            Assert.Equal(2, layer.NumBatchesTracked);
            outputs[rank] = y;
        });

        if (policy == SmallBatchPolicy.Throw)
        {
            Assert.All(errors, e => Assert.IsType<ArgumentException>(e));
            return;
        }

        Assert.All(errors, Assert.Null);
        BatchNormBase<T> reference = Layer();
        var expected = new T[3];
        reference.Train(policy == SmallBatchPolicy.SkipUpdate);
        reference.SmallBatchPolicy = SmallBatchPolicy.SkipUpdate;
        reference.Forward(Values(1, -2, 3), s_oneSample, expected);
        Expect.BitwiseEqual<T>(expected, outputs[0], "replica 0's output");
    }

    /// <summary>A (N, 3) layer after two training steps, so its running statistics are not the initial ones.</summary>
    private static BatchNormBase<T> Layer()
    {
        var layer = new BatchNorm1d<T>(3);
        T[] y = new T[12];
        layer.Forward(TestData.Gaussian<T>(1, 12, 2, 3), [4, 3], y);
        layer.Forward(TestData.Gaussian<T>(2, 12, 2, 3), [4, 3], y);
        return layer;
    }

    private static T[] Values(params double[] values) => TestData.Values<T>(values);
}

public sealed class LayerSmallBatchPolicyTestsFloat : LayerSmallBatchPolicyTests<float>;

public sealed class LayerSmallBatchPolicyTestsDouble : LayerSmallBatchPolicyTests<double>;
