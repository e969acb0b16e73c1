using System;
using BatchNorm.Distributed;
using Xunit;

namespace BatchNorm.Tests.Distributed;

/// <summary>The barrier-based in-process collectives.</summary>
public sealed class InProcessCommunicatorTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void Collectives_GatherInRankOrderAndSumIdentically(int size)
    {
        using var group = new InProcessCommunicatorGroup(size, ReplicaRunner.Timeout);
        var gathered = new double[size][];
        var sums = new double[size][];
        ReplicaRunner.RunAll(group, (r, communicator) =>
        {
            Assert.Equal(r, communicator.Rank);
            Assert.Equal(size, communicator.Size);
            for (int round = 0; round < 50; round++)
            {
                gathered[r] = new double[2 * size];
                communicator.AllGather([r, round], gathered[r]);
                sums[r] = [0.1 * (r + 1), round, 1e16];
                communicator.AllReduceSum(sums[r]);
            }
        });

        for (int r = 0; r < size; r++)
        {
            for (int q = 0; q < size; q++)
            {
                Assert.Equal(q, gathered[r][2 * q]);
                Assert.Equal(49, gathered[r][(2 * q) + 1]);
            }

            Assert.Equal(sums[0], sums[r]);
            Assert.Equal(49.0 * size, sums[r][1]);
        }
    }

    [Fact]
    public void MismatchedCollectives_AbortTheGroup()
    {
        using var group = new InProcessCommunicatorGroup(2, ReplicaRunner.Timeout);
        Exception?[] errors = ReplicaRunner.Run(group, (r, communicator) =>
        {
            if (r == 0)
            {
                communicator.AllGather([1.0], new double[2]);
            }
            else
            {
                communicator.AllReduceSum(new double[3]);
            }
        });

        Assert.All(errors, e => Assert.IsType<InvalidOperationException>(e));
        Assert.Contains("Mismatched collectives", errors[0]!.Message, StringComparison.Ordinal);
        Assert.True(group.IsAborted);
    }

    [Fact]
    public void AllGather_WrongReceiveLength_ThrowsBeforeWaiting()
    {
        using var group = new InProcessCommunicatorGroup(2);
        Assert.Throws<ArgumentException>(() => group.Communicators[0].AllGather([1.0, 2.0], new double[3]));
        Assert.False(group.IsAborted);
    }

    [Fact]
    public void Constructor_InvalidArguments_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new InProcessCommunicatorGroup(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new InProcessCommunicatorGroup(2, TimeSpan.Zero));
    }
}
