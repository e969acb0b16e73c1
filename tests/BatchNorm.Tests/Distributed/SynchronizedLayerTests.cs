using System;
using System.Collections.Generic;
using System.Numerics;
using BatchNorm.Distributed;
using Xunit;

namespace BatchNorm.Tests.Distributed;

/// <summary>
/// Synchronized layers on in-process replicas against one layer on the concatenated batch: the training forward, the
/// running statistics, the input gradient and the parameter gradients summed over the replicas.
/// </summary>
public abstract class SynchronizedLayerTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public static IEnumerable<object?[]> Cases()
    {
        // replicas' batch sizes, the shape after N, momentum, affine
        yield return [new[] { 3, 0 }, new[] { 3, 4, 5 }, 0.1, true];
        yield return [new[] { 0, 2 }, new[] { 2, 7 }, null, false];
        yield return [new[] { 2, 0, 5 }, new[] { 4 }, 0.1, true];
        yield return [new[] { 1, 1, 1 }, new[] { 3, 2 }, null, true];
        yield return [new[] { 1, 3, 0, 2 }, new[] { 2, 2, 3, 2 }, 0.3, true];
        yield return [new[] { 4, 1, 2, 0 }, new[] { 5, 6, 6 }, 0.1, false];
    }

    /// <summary>Three training steps, the replicas' batch sizes rotating between steps, with SGD updates in between.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void TrainingSteps_MatchSingleLayerOnConcatenatedBatch(int[] batchSizes, int[] inner, double? momentum, bool affine)
    {
        int replicas = batchSizes.Length;
        int channels = inner[0];
        int perSample = TestData.Length(inner);
        int rank = inner.Length + 1;
        double tolerance = Tolerances.For<T>();

        BatchNormBase<T> single = TestData.CreateLayer<T>(rank, channels, momentum: momentum, affine: affine);
        var layers = new BatchNormBase<T>[replicas];
        using var group = new InProcessCommunicatorGroup(replicas, ReplicaRunner.Timeout);
        for (int r = 0; r < replicas; r++)
        {
            layers[r] = TestData.CreateLayer<T>(rank, channels, momentum: momentum, affine: affine);
            layers[r].Communicator = group.Communicators[r];
        }

        for (int step = 0; step < 3; step++)
        {
            int[] sizes = Rotate(batchSizes, step);
            int total = 0;
            foreach (int n in sizes)
            {
                total += n;
            }

            T[] x = TestData.Gaussian<T>(10 + step, total * perSample, mean: 5 - step, std: 1 + step);
            T[] dy = TestData.Gaussian<T>(20 + step, total * perSample, mean: 0.2);
            int[] shape = [total, .. inner];
            var y = new T[x.Length];
            var dx = new T[x.Length];
            single.ZeroGrad();
            single.Forward(x, shape, y);
            single.Backward(x, shape, dy, dx);

            var outputs = new T[replicas][];
            var inputGradients = new T[replicas][];
            var offsets = new int[replicas];
            for (int r = 1; r < replicas; r++)
            {
                offsets[r] = offsets[r - 1] + (sizes[r - 1] * perSample);
            }

            ReplicaRunner.RunAll(group, (r, _) =>
            {
                int length = sizes[r] * perSample;
                int[] localShape = [sizes[r], .. inner];
                outputs[r] = new T[length];
                inputGradients[r] = new T[length];
                layers[r].ZeroGrad();
                layers[r].Forward(x.AsSpan(offsets[r], length), localShape, outputs[r]);
                layers[r].Backward(x.AsSpan(offsets[r], length), localShape, dy.AsSpan(offsets[r], length), inputGradients[r]);
            });

            double[] expectedY = TestData.ToDouble<T>(y);
            double[] expectedDx = TestData.ToDouble<T>(dx);
            var weightGradient = new double[affine ? channels : 0];
            var biasGradient = new double[affine ? channels : 0];
            for (int r = 0; r < replicas; r++)
            {
                int length = sizes[r] * perSample;
                string what = $"step {step}, replica {r} of {string.Join('+', sizes)}";
                Expect.Close<T>(expectedY.AsSpan(offsets[r], length), outputs[r], tolerance, $"{what}: output", MaxAbs(expectedY));
                Expect.Close<T>(expectedDx.AsSpan(offsets[r], length), inputGradients[r], tolerance, $"{what}: input gradient", MaxAbs(expectedDx));
                Expect.Close<T>(TestData.ToDouble<T>(single.RunningMean), layers[r].RunningMean, tolerance, $"{what}: running mean");
                Expect.Close<T>(TestData.ToDouble<T>(single.RunningVariance), layers[r].RunningVariance, tolerance, $"{what}: running variance");
                Assert.Equal(single.NumBatchesTracked, layers[r].NumBatchesTracked);
                Expect.BitwiseEqual<T>(layers[0].RunningMean, layers[r].RunningMean, $"{what}: running mean vs replica 0");
                Expect.BitwiseEqual<T>(layers[0].RunningVariance, layers[r].RunningVariance, $"{what}: running variance vs replica 0");
                for (int c = 0; c < weightGradient.Length; c++)
                {
                    weightGradient[c] += double.CreateTruncating(layers[r].WeightGradient[c]);
                    biasGradient[c] += double.CreateTruncating(layers[r].BiasGradient[c]);
                }
            }

            double gradientScale = MaxAbs(TestData.ToDouble<T>(dy)) * perSample * total / channels;
            Expect.Close(weightGradient, single.WeightGradient, tolerance, $"step {step}: weight gradient summed over replicas", gradientScale);
            Expect.Close(biasGradient, single.BiasGradient, tolerance, $"step {step}: bias gradient summed over replicas", gradientScale);

            // SGD with the summed gradients, on every replica and on the single layer alike.
            for (int c = 0; c < weightGradient.Length; c++)
            {
                T w = single.Weight[c] - T.CreateTruncating(0.1 * weightGradient[c]);
                T b = single.Bias[c] - T.CreateTruncating(0.1 * biasGradient[c]);
                single.Weight[c] = w;
                single.Bias[c] = b;
                foreach (BatchNormBase<T> layer in layers)
                {
                    layer.Weight[c] = w;
                    layer.Bias[c] = b;
                }
            }
        }
    }

    [Fact]
    public void Forward_InvalidShapeOnOneReplica_AllThrowAndNothingChanges()
    {
        using var group = new InProcessCommunicatorGroup(3, ReplicaRunner.Timeout);
        BatchNorm2d<T>[] layers = CreateSynchronized(group, channels: 2);
        T[] x = TestData.Gaussian<T>(1, 2 * 2 * 3);
        int[] shape = [2, 2, 3, 1];
        ReplicaRunner.RunAll(group, (r, _) => layers[r].Forward(x, shape, new T[x.Length]));
        T[][] runningMean = Snapshot(layers, l => l.RunningMean);

        Exception?[] errors = ReplicaRunner.Run(group, (r, _) =>
        {
            int[] bad = r == 1 ? [2, 3, 2, 1] : shape;
            layers[r].Forward(x, bad, new T[x.Length]);
        });

        Assert.IsType<ArgumentException>(errors[1]);
        Assert.Contains("channels", errors[1]!.Message, StringComparison.Ordinal);
        Assert.IsType<InvalidOperationException>(errors[0]);
        Assert.Contains("Replica 1 rejected", errors[0]!.Message, StringComparison.Ordinal);
        Assert.IsType<InvalidOperationException>(errors[2]);
        for (int r = 0; r < layers.Length; r++)
        {
            Assert.Equal(1, layers[r].NumBatchesTracked);
            Expect.BitwiseEqual<T>(runningMean[r], layers[r].RunningMean, $"replica {r}: running mean");
        }

        // The group is still usable, and Backward still differentiates the last successful Forward.
        ReplicaRunner.RunAll(group, (r, _) => layers[r].Backward(x, shape, x, new T[x.Length]));
    }

    [Fact]
    public void Forward_FewerThanTwoValuesGlobally_AllThrowArgumentException()
    {
        using var group = new InProcessCommunicatorGroup(2, ReplicaRunner.Timeout);
        BatchNorm2d<T>[] layers = CreateSynchronized(group, channels: 3);
        Exception?[] errors = ReplicaRunner.Run(group, (r, _) =>
        {
            int n = r == 0 ? 1 : 0;
            layers[r].Forward(new T[n * 3], [n, 3, 1, 1], new T[n * 3]);
        });

        Assert.All(errors, e => Assert.IsType<ArgumentException>(e));
        Assert.All(layers, l => Assert.Equal(0, l.NumBatchesTracked));
    }

    [Fact]
    public void Backward_InvalidGradientOnOneReplica_AllThrowAndGradientsUnchanged()
    {
        using var group = new InProcessCommunicatorGroup(2, ReplicaRunner.Timeout);
        BatchNorm2d<T>[] layers = CreateSynchronized(group, channels: 2);
        T[] x = TestData.Gaussian<T>(3, 3 * 2 * 2);
        int[] shape = [3, 2, 2, 1];
        ReplicaRunner.RunAll(group, (r, _) => layers[r].Forward(x, shape, new T[x.Length]));

        Exception?[] errors = ReplicaRunner.Run(group, (r, _) =>
        {
            T[] dy = r == 0 ? new T[x.Length - 1] : x;
            layers[r].Backward(x, shape, dy, new T[x.Length]);
        });

        Assert.IsType<ArgumentException>(errors[0]);
        Assert.IsType<InvalidOperationException>(errors[1]);
        Assert.All(layers, l => Assert.All(l.WeightGradient.ToArray(), g => Assert.Equal(T.Zero, g)));
    }

    [Fact]
    public void Eval_DoesNotSynchronize()
    {
        using var group = new InProcessCommunicatorGroup(2, ReplicaRunner.Timeout);
        BatchNorm2d<T>[] layers = CreateSynchronized(group, channels: 2);
        layers[0].Eval();
        T[] x = TestData.Gaussian<T>(4, 2 * 2 * 3);

        // Replica 1 never calls: an evaluation forward and backward must not wait for it.
        layers[0].Forward(x, [2, 2, 3, 1], new T[x.Length]);
        layers[0].Backward(x, [2, 2, 3, 1], x, new T[x.Length]);
        Assert.False(group.IsAborted);
    }

    [Fact]
    public void PeerNeverCalls_AbortReleasesTheWaitingReplica()
    {
        using var group = new InProcessCommunicatorGroup(2);
        BatchNorm2d<T>[] layers = CreateSynchronized(group, channels: 2);
        T[] x = TestData.Gaussian<T>(5, 2 * 2 * 3);
        Exception?[] errors = ReplicaRunner.Run(group, (r, _) =>
        {
            if (r == 0)
            {
                layers[0].Forward(x, [2, 2, 3, 1], new T[x.Length]);
            }
            else
            {
                // Replica 1 fails before its Forward, and aborts the group as the documentation says.
                System.Threading.Thread.Sleep(50);
                group.Abort();
            }
        });

        Assert.IsType<InvalidOperationException>(errors[0]);
        Assert.Null(errors[1]);
        Assert.Equal(0, layers[0].NumBatchesTracked);
    }

    [Fact]
    public void PeerNeverCalls_TimeoutAbortsTheGroup()
    {
        using var group = new InProcessCommunicatorGroup(2, TimeSpan.FromMilliseconds(100));
        BatchNorm2d<T>[] layers = CreateSynchronized(group, channels: 2);
        T[] x = TestData.Gaussian<T>(6, 2 * 2 * 3);
        var error = Assert.Throws<InvalidOperationException>(() => layers[0].Forward(x, [2, 2, 3, 1], new T[x.Length]));
        Assert.Contains("waited longer", error.Message, StringComparison.Ordinal);
        Assert.True(group.IsAborted);
        Assert.Throws<InvalidOperationException>(() => layers[1].Forward(x, [2, 2, 3, 1], new T[x.Length]));
    }

    [Fact]
    public void ForwardBackward_AfterWarmUp_AllocateNothing()
    {
        using var group = new InProcessCommunicatorGroup(1, ReplicaRunner.Timeout);
        BatchNorm2d<T> layer = CreateSynchronized(group, channels: 3)[0];
        layer.MaxDegreeOfParallelism = 1;
        T[] x = TestData.Gaussian<T>(7, 4 * 3 * 5);
        var y = new T[x.Length];
        var dx = new T[x.Length];
        int[] shape = [4, 3, 5, 1];
        layer.Forward(x, shape, y);
        layer.Backward(x, shape, x, dx);

        long before = GC.GetAllocatedBytesForCurrentThread();
        layer.Forward(x, shape, y);
        layer.Backward(x, shape, x, dx);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static BatchNorm2d<T>[] CreateSynchronized(InProcessCommunicatorGroup group, int channels)
    {
        var layers = new BatchNorm2d<T>[group.Size];
        for (int r = 0; r < layers.Length; r++)
        {
            layers[r] = new BatchNorm2d<T>(channels) { Communicator = group.Communicators[r] };
        }

        return layers;
    }

    private static T[][] Snapshot(BatchNorm2d<T>[] layers, Func<BatchNorm2d<T>, Span<T>> select)
    {
        var copies = new T[layers.Length][];
        for (int r = 0; r < layers.Length; r++)
        {
            copies[r] = select(layers[r]).ToArray();
        }

        return copies;
    }

    private static int[] Rotate(int[] values, int by)
    {
        var rotated = new int[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            rotated[i] = values[(i + by) % values.Length];
        }

        return rotated;
    }

    private static double MaxAbs(double[] values)
    {
        double max = 0;
        foreach (double v in values)
        {
            max = Math.Max(max, Math.Abs(v));
        }

        return max;
    }
}

public sealed class SynchronizedLayerTestsFloat : SynchronizedLayerTests<float>
{
}

public sealed class SynchronizedLayerTestsDouble : SynchronizedLayerTests<double>
{
}
