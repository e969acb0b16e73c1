using System;
using BatchNorm.Distributed;
using Xunit;

namespace BatchNorm.Tests.Distributed;

/// <summary>
/// Synchronized float layers given Half or BFloat16 batches: each replica's output and input gradient are the results of
/// the same replicas given the widened float batches, rounded once; running statistics and parameter gradients the
/// same bits.
/// </summary>
public sealed class SynchronizedSixteenBitTests
{
    [Fact]
    public void Half_IsTheWidenedFloatRun_RoundedOnce() => Compare<Half>();

    [Fact]
    public void BFloat16_IsTheWidenedFloatRun_RoundedOnce() => Compare<BFloat16>();

    private static void Compare<TData>()
        where TData : unmanaged
    {
        int[][] shapes = [[3, 4, 5], [2, 4, 5]];
        TData[][] x = [SixteenBit.Random<TData>(1, 60, 1, 2), SixteenBit.Random<TData>(2, 40, 1, 2)];
        TData[][] dy = [SixteenBit.Random<TData>(3, 60), SixteenBit.Random<TData>(4, 40)];
        var narrow = new Replica<TData>[2];
        var wide = new Replica<float>[2];
        using (var group = new InProcessCommunicatorGroup(2))
        {
            ReplicaRunner.RunAll(group, (rank, communicator) => narrow[rank] = Replica<TData>.Run(communicator, shapes[rank], x[rank], dy[rank]));
        }

        using (var group = new InProcessCommunicatorGroup(2))
        {
            ReplicaRunner.RunAll(group, (rank, communicator) =>
                wide[rank] = Replica<float>.Run(communicator, shapes[rank], SixteenBit.Widen<TData, float>(x[rank]), SixteenBit.Widen<TData, float>(dy[rank])));
        }

        for (int rank = 0; rank < 2; rank++)
        {
            Expect.BitwiseEqual<TData>(SixteenBit.Narrow<float, TData>(wide[rank].Y), narrow[rank].Y, $"replica {rank}'s output");
            Expect.BitwiseEqual<TData>(SixteenBit.Narrow<float, TData>(wide[rank].Dx), narrow[rank].Dx, $"replica {rank}'s gradInput");
            Expect.BitwiseEqual<float>(wide[rank].Layer.RunningVariance, narrow[rank].Layer.RunningVariance, $"replica {rank}'s running variance");
            Expect.BitwiseEqual<float>(wide[rank].Layer.WeightGradient, narrow[rank].Layer.WeightGradient, $"replica {rank}'s weight gradient");
        }
    }

    /// <summary>One replica's synchronized float layer after a training forward and backward on data of type TData.</summary>
    private sealed record Replica<TData>(BatchNormBase<float> Layer, TData[] Y, TData[] Dx)
        where TData : unmanaged
    {
        public static Replica<TData> Run(ICollectiveCommunicator communicator, int[] shape, TData[] x, TData[] dy)
        {
            var layer = new BatchNorm1d<float>(4) { Communicator = communicator };
            TData[] y = new TData[x.Length], dx = new TData[x.Length];
            SixteenBit.Forward(layer, x, shape, y);
            SixteenBit.Backward(layer, x, shape, dy, dx);
            return new Replica<TData>(layer, y, dx);
        }
    }
}
