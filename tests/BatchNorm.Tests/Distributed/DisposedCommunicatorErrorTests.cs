using System;
using BatchNorm.Distributed;
using Xunit;

namespace BatchNorm.Tests.Distributed;

/// <summary>
/// A synchronized layer whose <see cref="BatchNormBase{T}.Communicator"/> was disposed fails with an
/// <see cref="ObjectDisposedException"/> naming the communicator, and changes nothing.
/// </summary>
public sealed class DisposedCommunicatorErrorTests
{
    private static readonly int[] s_shape = [4, 2, 3];

    [Fact]
    public void Forward_AfterGroupDisposed_ThrowsNamingTheCommunicator_ChangesNothing()
    {
        var group = new InProcessCommunicatorGroup(1);
        var layer = new BatchNorm1d<double>(2) { Communicator = group.Communicators[0] };
        double[] x = TestData.Gaussian<double>(1, 4 * 2 * 3);
        var y = new double[x.Length];
        group.Dispose();

        ObjectDisposedException error = Assert.Throws<ObjectDisposedException>(() => layer.Forward(x, s_shape, y));

        Assert.Contains("The layer's Communicator (InProcessCommunicator, rank 0 of 1) was disposed", error.Message, StringComparison.Ordinal);
        Assert.Contains("nothing was changed", error.Message, StringComparison.Ordinal);
        Assert.IsType<ObjectDisposedException>(error.InnerException);
        Assert.Equal(0, layer.NumBatchesTracked);
        Assert.Equal([0.0, 0.0], layer.RunningMean.ToArray());
        Assert.Equal(new double[x.Length], y);

        // Without the communicator the layer works again, on this replica's batch alone.
        layer.Communicator = null;
        layer.Forward(x, s_shape, y);
        Assert.Equal(1, layer.NumBatchesTracked);
    }

    [Fact]
    public void Backward_AfterGroupDisposed_ThrowsNamingTheCommunicator_ChangesNothing()
    {
        var group = new InProcessCommunicatorGroup(1);
        var layer = new BatchNorm1d<double>(2) { Communicator = group.Communicators[0] };
        double[] x = TestData.Gaussian<double>(2, 4 * 2 * 3);
        layer.Forward(x, s_shape, new double[x.Length]);
        group.Dispose();
        var dx = new double[x.Length];

        ObjectDisposedException error = Assert.Throws<ObjectDisposedException>(() => layer.Backward(x, s_shape, x, dx));

        Assert.Contains("Communicator (InProcessCommunicator, rank 0 of 1) was disposed", error.Message, StringComparison.Ordinal);
        Assert.Equal([0.0, 0.0], layer.WeightGradient.ToArray());
        Assert.Equal(new double[x.Length], dx);
    }

    /// <summary>A communicator of another kind that throws as <c>MpiCommunicator</c> does once disposed: the message names its type.</summary>
    [Fact]
    public void Forward_CommunicatorThrowingObjectDisposed_ThrowsNamingItsType()
    {
        var layer = new BatchNorm1d<float>(2) { Communicator = new DisposedCommunicator() };
        float[] x = TestData.Gaussian<float>(3, 4 * 2 * 3);

        ObjectDisposedException error = Assert.Throws<ObjectDisposedException>(() => layer.Forward(x, s_shape, new float[x.Length]));

        Assert.Contains("The layer's Communicator (DisposedCommunicator, rank 1 of 3) was disposed", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, layer.NumBatchesTracked);
    }

    [Fact]
    public void DisposedGroup_CollectivesThrowObjectDisposed_WhichIsAnInvalidOperation()
    {
        var group = new InProcessCommunicatorGroup(2);
        group.Dispose();

        ObjectDisposedException error = Assert.Throws<ObjectDisposedException>(() => group.Communicators[0].AllReduceSum(new double[2]));

        Assert.IsAssignableFrom<InvalidOperationException>(error);
        Assert.Contains("InProcessCommunicatorGroup", error.Message, StringComparison.Ordinal);
        Assert.True(group.IsAborted);
    }

    private sealed class DisposedCommunicator : ICollectiveCommunicator
    {
        public int Rank => 1;

        public int Size => 3;

        public void AllGather(ReadOnlySpan<double> send, Span<double> receive) => throw new ObjectDisposedException("MpiCommunicator");

        public void AllReduceSum(Span<double> values) => throw new ObjectDisposedException("MpiCommunicator");
    }
}
