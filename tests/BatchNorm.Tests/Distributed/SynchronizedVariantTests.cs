using System;
using BatchNorm.Distributed;
using Xunit;

namespace BatchNorm.Tests.Distributed;

/// <summary>
/// The training variants on synchronized layers: the biased running-variance estimator applies to the global batch
/// (the same running statistics as one layer on all the replicas' data), and ghost batches and renormalization refuse
/// clearly, on every replica and before the collective.
/// </summary>
public sealed class SynchronizedVariantTests
{
    [Fact]
    public void BiasedEstimator_GivesTheRunningStatisticsOfTheGlobalBatch()
    {
        float[][] x = [TestData.Gaussian<float>(1, 24, 2, 3), TestData.Gaussian<float>(2, 12, 1, 2)];
        int[][] shapes = [[8, 3], [4, 3]];
        var running = new float[2][];
        using (var group = new InProcessCommunicatorGroup(2))
        {
            ReplicaRunner.RunAll(group, (rank, communicator) =>
            {
                var layer = new BatchNorm1d<float>(3) { Communicator = communicator, RunningVarianceEstimator = RunningVarianceEstimator.Biased };
                layer.Forward(x[rank], shapes[rank], new float[x[rank].Length]);
                running[rank] = layer.RunningVariance.ToArray();
            });
        }

        var single = new BatchNorm1d<float>(3) { RunningVarianceEstimator = RunningVarianceEstimator.Biased };
        single.Forward([.. x[0], .. x[1]], [12, 3], new float[36]);
        Expect.Close<float>(TestData.ToDouble<float>(single.RunningVariance), running[0], Tolerances.Float, "replica 0's running variance");
        Expect.BitwiseEqual<float>(running[0], running[1], "replica 1's running variance");
    }

    [Fact]
    public void GhostBatchesAndRenormalization_RefuseOnEveryReplica()
    {
        using var group = new InProcessCommunicatorGroup(2, TimeSpan.FromSeconds(5));
        Exception?[] errors = ReplicaRunner.Run(group, (rank, communicator) =>
        {
            var layer = new BatchNorm1d<float>(3) { Communicator = communicator };
            if (rank == 0)
            {
                layer.VirtualBatchSize = 2;
            }
            else
            {
                layer.Renormalization = new BatchRenormalization();
            }

            layer.Forward(new float[12], [4, 3], new float[12]);
        });
        Assert.All(errors, e => Assert.IsType<NotSupportedException>(e));
    }
}
