using System;
using System.Linq;
using System.Numerics;
using BatchNorm.Distributed;
using BatchNorm.Tests.Distributed;
using Xunit;

namespace BatchNorm.Tests.Recalibration;

/// <summary>
/// <see cref="PreciseBatchNorm.Recalibrate{T}"/>: pooled statistics against the double reference over all the batches'
/// values together (and a case worked by hand), the batch average against the average of the reference's per-batch
/// statistics, synchronized replicas against one process, and atomicity (a throwing batch or an unseen layer changes
/// nothing; modes come back).
/// </summary>
public abstract class PreciseBatchNormTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private static readonly int[][] s_batchShapes = [[4, 3, 5], [7, 3, 5], [2, 3, 5]];

    [Fact]
    public void Pooled_WorkedByHand()
    {
        // Batches {1, 3} and {5, 7, 9}: all five values have mean 5 and squared deviations 16 + 4 + 0 + 4 + 16 = 40,
        // so the unbiased variance is 40 / 4 = 10 (biased 8).
        var layer = new BatchNorm1d<T>(1);
        T[][] batches = [TestData.Values<T>(1, 3), TestData.Values<T>(5, 7, 9)];
        PreciseBatchNorm.Recalibrate([layer], 2, k => layer.Forward(batches[k], [batches[k].Length, 1], new T[batches[k].Length]));
        Expect.Known(5.0, layer.RunningMean[0], "mean");
        Expect.Known(10.0, layer.RunningVariance[0], "unbiased variance");

        layer.RunningVarianceEstimator = RunningVarianceEstimator.Biased;
        PreciseBatchNorm.Recalibrate([layer], 2, k => layer.Forward(batches[k], [batches[k].Length, 1], new T[batches[k].Length]));
        Expect.Known(8.0, layer.RunningVariance[0], "biased variance");
    }

    [Theory]
    [InlineData(PreciseStatistics.Pooled)]
    [InlineData(PreciseStatistics.BatchAverage)]
    public void TwoLayers_GetTheReferenceStatistics_AndTheirModesBack(PreciseStatistics statistics)
    {
        var first = new BatchNorm1d<T>(3);
        var second = new BatchNorm1d<T>(3);
        second.Eval();
        T[][] inputs = s_batchShapes.Select((shape, k) => TestData.Gaussian<T>(k, TestData.Length(shape), 2 + k, 1 + k)).ToArray();
        long tracked = first.NumBatchesTracked;

        PreciseBatchNorm.Recalibrate<T>([first, second], inputs.Length, k =>
        {
            var y = new T[inputs[k].Length];
            first.Forward(inputs[k], s_batchShapes[k], y);
            second.Forward(y, s_batchShapes[k], new T[y.Length]);
        }, statistics);

        (double[] mean, double[] variance) = Expected(inputs, statistics);
        Expect.Close<T>(mean, first.RunningMean, Tolerances.For<T>(), "mean");
        Expect.Close<T>(variance, first.RunningVariance, Tolerances.For<T>(), "variance");
        Assert.True(first.IsTraining);
        Assert.False(second.IsTraining);
        Assert.Equal(tracked, first.NumBatchesTracked);
        Assert.False(second.RunningVariance.SequenceEqual(new BatchNorm1d<T>(3).RunningVariance));
    }

    [Fact]
    public void AThrowingBatch_OrAnUnseenLayer_ChangesNothing()
    {
        var seen = new BatchNorm1d<T>(3);
        var unseen = new BatchNorm1d<T>(3);
        unseen.Eval();
        T[] before = seen.RunningMean.ToArray();
        T[] x = TestData.Gaussian<T>(1, 15, 4, 1);

        Assert.Throws<TimeoutException>(() => PreciseBatchNorm.Recalibrate<T>([seen], 3, k =>
        {
            seen.Forward(x, [5, 3], new T[15]);
            if (k == 1)
            {
                throw new TimeoutException("the data loader failed");
            }
        }));
        Expect.BitwiseEqual<T>(before, seen.RunningMean, "running mean after a throwing batch");

        var error = Assert.Throws<InvalidOperationException>(() => PreciseBatchNorm.Recalibrate<T>([seen, unseen], 2, k => seen.Forward(x, [5, 3], new T[15])));
        Assert.Contains("Layer 1 saw no batch", error.Message);
        Expect.BitwiseEqual<T>(before, seen.RunningMean, "running mean after an unseen layer");
        Assert.False(unseen.IsTraining);

        // No longer recalibrating: the next training forward updates as usual.
        seen.Forward(x, [5, 3], new T[15]);
        Assert.False(seen.RunningMean.SequenceEqual(before));
    }

    [Fact]
    public void BadArguments_ThrowNamingThem()
    {
        var layer = new BatchNorm1d<T>(3);
        Assert.Equal("batches", Assert.Throws<ArgumentOutOfRangeException>(() => PreciseBatchNorm.Recalibrate<T>([layer], 0, _ => { })).ParamName);
        Assert.Equal("statistics", Assert.Throws<ArgumentOutOfRangeException>(() => PreciseBatchNorm.Recalibrate<T>([layer], 1, _ => { }, (PreciseStatistics)5)).ParamName);
        Assert.Contains("appears twice", Assert.Throws<ArgumentException>(() => PreciseBatchNorm.Recalibrate<T>([layer, layer], 1, _ => { })).Message);
        Assert.Contains("keeps no running statistics", Assert.Throws<ArgumentException>(() =>
            PreciseBatchNorm.Recalibrate<T>([new BatchNorm1d<T>(3, trackRunningStatistics: false)], 1, _ => { })).Message);
        layer.FrozenStatistics = true;
        Assert.Contains("frozen", Assert.Throws<ArgumentException>(() => PreciseBatchNorm.Recalibrate<T>([layer], 1, _ => { })).Message);
        Assert.Throws<ArgumentNullException>(() => PreciseBatchNorm.Recalibrate<T>([layer], 1, null!));
    }

    [Fact]
    public void SynchronizedReplicas_GetTheStatisticsOfAllTheirBatches()
    {
        T[][] inputs = s_batchShapes.Select((shape, k) => TestData.Gaussian<T>(10 + k, TestData.Length(shape), 1, 2)).ToArray();
        using var group = new InProcessCommunicatorGroup(2);
        var results = new T[2][];
        ReplicaRunner.RunAll(group, (rank, communicator) =>
        {
            var layer = new BatchNorm1d<T>(3) { Communicator = communicator };
            // Replica 0 holds batches 0 and 2 in its two steps, replica 1 batch 1 and then an empty one.
            int[] mine = rank == 0 ? [0, 2] : [1, -1];
            PreciseBatchNorm.Recalibrate<T>([layer], 2, k =>
            {
                int b = mine[k];
                T[] x = b < 0 ? [] : inputs[b];
                int[] shape = b < 0 ? [0, 3, 5] : s_batchShapes[b];
                layer.Forward(x, shape, new T[x.Length]);
            });
            results[rank] = layer.RunningVariance.ToArray();
        });

        (double[] _, double[] variance) = Expected(inputs, PreciseStatistics.Pooled);
        Expect.Close<T>(variance, results[0], Tolerances.For<T>(), "replica 0's variance");
        Expect.BitwiseEqual<T>(results[0], results[1], "replica 1's variance");
    }

    /// <summary>The reference: pooled over all values, or the average of each batch's mean and unbiased variance.</summary>
    private static (double[] Mean, double[] Variance) Expected(T[][] inputs, PreciseStatistics statistics)
    {
        if (statistics == PreciseStatistics.Pooled)
        {
            double[] all = inputs.SelectMany(x => TestData.ToDouble<T>(x)).ToArray();
            var pooled = new ReferenceBatchNorm(3, momentum: 1);
            pooled.Forward(all, [all.Length / 15, 3, 5]);
            return (pooled.RunningMean, pooled.RunningVar);
        }

        double[] mean = new double[3], variance = new double[3];
        for (int k = 0; k < inputs.Length; k++)
        {
            var one = new ReferenceBatchNorm(3, momentum: 1);
            one.Forward(TestData.ToDouble<T>(inputs[k]), s_batchShapes[k]);
            for (int c = 0; c < 3; c++)
            {
                mean[c] += one.RunningMean[c] / inputs.Length;
                variance[c] += one.RunningVar[c] / inputs.Length;
            }
        }

        return (mean, variance);
    }
}

public sealed class PreciseBatchNormTestsFloat : PreciseBatchNormTests<float>;

public sealed class PreciseBatchNormTestsDouble : PreciseBatchNormTests<double>;
