using System;
using System.Threading;
using BatchNorm.Distributed;
using Xunit;

namespace BatchNorm.Tests.Layers;

/// <summary>
/// Two threads in one layer's Forward or Backward at once: the second gets an <see cref="InvalidOperationException"/>
/// naming the problem and changes nothing, and the first completes as if it had been alone. A synchronized layer over a
/// <see cref="GatedCommunicator"/> holds a call open inside its collective for as long as a test needs, so the overlap is
/// certain, not a race. Also: the guard is released after a call that throws, and Backward twice after one Forward.
/// </summary>
public sealed class LayerConcurrentMisuseTests
{
    private static readonly int[] s_shape = [4, 3, 5, 2];

    [Fact]
    public void Forward_WhileAnotherThreadIsInForward_ThrowsAndTheFirstCompletesUnmixed()
    {
        float[] x = TestData.Gaussian<float>(1, 4 * 3 * 5 * 2);
        float[] other = TestData.Gaussian<float>(2, x.Length, mean: 5);
        using var gate = new GatedCommunicator();
        var layer = new BatchNorm2d<float>(3) { Communicator = gate };
        var y = new float[x.Length];
        Thread first = Start(() => layer.Forward(x, s_shape, y));
        gate.WaitUntilInside();

        InvalidOperationException forward = Assert.Throws<InvalidOperationException>(() => layer.Forward(other, s_shape, new float[x.Length]));
        InvalidOperationException backward = Assert.Throws<InvalidOperationException>(() => layer.Backward(other, s_shape, other, new float[x.Length]));
        InvalidOperationException fromOutput = Assert.Throws<InvalidOperationException>(() => layer.BackwardFromOutput(other, s_shape, other, new float[x.Length]));
        Assert.Throws<InvalidOperationException>(() => layer.Forward(new Half[x.Length], s_shape, new Half[x.Length]));
        gate.Release();
        first.Join();

        Assert.Contains("Forward was called on this BatchNorm2d<Single> while another thread is in its Forward", forward.Message, StringComparison.Ordinal);
        Assert.Contains("not safe for concurrent use", forward.Message, StringComparison.Ordinal);
        Assert.Contains("Backward was called on this BatchNorm2d<Single> while another thread is in its Forward", backward.Message, StringComparison.Ordinal);
        Assert.Contains("BackwardFromOutput was called", fromOutput.Message, StringComparison.Ordinal);

        // The first call is exactly what it would have been alone: output, running statistics, saved batch.
        (BatchNorm2d<float> alone, float[] yAlone) = ForwardAlone(x);
        Assert.Equal(yAlone, y);
        Assert.Equal(alone.RunningMean.ToArray(), layer.RunningMean.ToArray());
        Assert.Equal(alone.RunningVariance.ToArray(), layer.RunningVariance.ToArray());
        Assert.Equal(1, layer.NumBatchesTracked);
        float[] dy = TestData.Gaussian<float>(3, x.Length);
        float[] dx = new float[x.Length], dxAlone = new float[x.Length];
        gate.Open();
        layer.Backward(x, s_shape, dy, dx);
        alone.Backward(x, s_shape, dy, dxAlone);
        Assert.Equal(dxAlone, dx);
        Assert.Equal(alone.WeightGradient.ToArray(), layer.WeightGradient.ToArray());
    }

    [Fact]
    public void Forward_WhileAnotherThreadIsInBackward_ThrowsAndTheBackwardCompletesUnmixed()
    {
        float[] x = TestData.Gaussian<float>(4, 4 * 3 * 5 * 2);
        float[] dy = TestData.Gaussian<float>(5, x.Length);
        using var gate = new GatedCommunicator();
        var layer = new BatchNorm2d<float>(3) { Communicator = gate };
        gate.Open();
        layer.Forward(x, s_shape, new float[x.Length]);
        gate.Close();
        var dx = new float[x.Length];
        Thread first = Start(() => layer.Backward(x, s_shape, dy, dx));
        gate.WaitUntilInside();

        InvalidOperationException error = Assert.Throws<InvalidOperationException>(() => layer.Forward(dy, s_shape, new float[x.Length]));
        Assert.Throws<InvalidOperationException>(() => layer.Backward(x, s_shape, x, new float[x.Length]));
        gate.Release();
        first.Join();

        Assert.Contains("Forward was called on this BatchNorm2d<Single> while another thread is in its Backward", error.Message, StringComparison.Ordinal);
        (BatchNorm2d<float> alone, float[] _) = ForwardAlone(x);
        var dxAlone = new float[x.Length];
        alone.Backward(x, s_shape, dy, dxAlone);
        Assert.Equal(dxAlone, dx);
        Assert.Equal(alone.WeightGradient.ToArray(), layer.WeightGradient.ToArray());
        Assert.Equal(alone.BiasGradient.ToArray(), layer.BiasGradient.ToArray());
        Assert.Equal(1, layer.NumBatchesTracked);
    }

    /// <summary>
    /// No gate: two threads call Forward on one layer as fast as they can, each with its own batch. Every call either
    /// completes with exactly the output its batch gives alone (a training output depends on its batch only, so a call
    /// mixed with the other's statistics would differ) or is refused by the guard; the counter holds exactly the
    /// completed calls. (A race, so it cannot show that calls overlapped: the gated tests above make the overlap certain.)
    /// </summary>
    [Fact]
    public void Forward_TwoThreadsHammeringOneLayer_EachCallCompletesAloneOrIsRefused()
    {
        const int Calls = 1000;
        int[] shape = [16, 8, 256];
        var layer = new BatchNorm1d<float>(8) { MaxDegreeOfParallelism = 1 };
        int completed = 0;
        int mixed = 0;
        Exception? unexpected = null;
        using var start = new Barrier(2);
        void Hammer(int seed)
        {
            float[] x = TestData.Gaussian<float>(seed, 16 * 8 * 256, mean: 10 * seed);
            var alone = new float[x.Length];
            new BatchNorm1d<float>(8).Forward(x, shape, alone);
            var y = new float[x.Length];
            start.SignalAndWait();
            for (int i = 0; i < Calls; i++)
            {
                try
                {
                    layer.Forward(x, shape, y);
                    Interlocked.Increment(ref completed);
                    if (!y.AsSpan().SequenceEqual(alone))
                    {
                        Interlocked.Increment(ref mixed);
                    }
                }
                catch (InvalidOperationException e) when (e.Message.Contains("not safe for concurrent use", StringComparison.Ordinal))
                {
                    // Refused, as it should be; nothing changed.
                }
                catch (Exception e)
                {
                    unexpected = e;
                }
            }
        }

        Thread other = Start(() => Hammer(1));
        Hammer(2);
        other.Join();

        Assert.Null(unexpected);
        Assert.Equal(0, mixed);
        Assert.Equal(completed, layer.NumBatchesTracked);
        Assert.True(completed > 0, "No call completed.");
    }

    [Fact]
    public void Guard_IsReleasedAfterACallThatThrows()
    {
        float[] x = TestData.Gaussian<float>(7, 4 * 3 * 5 * 2);
        var layer = new BatchNorm2d<float>(3);

        Assert.Throws<InvalidOperationException>(() => layer.Backward(x, s_shape, x, new float[x.Length])); // no Forward yet
        Assert.Throws<ArgumentException>(() => layer.Forward(x, [4, 2, 5, 3], new float[x.Length]));         // wrong channels
        layer.Forward(x, s_shape, new float[x.Length]);
        Assert.Throws<ArgumentException>(() => layer.BackwardFromOutput(x, s_shape, x, new float[1]));      // wrong length

        layer.Forward(x, s_shape, new float[x.Length]);
        layer.Backward(x, s_shape, x, new float[x.Length]);
        Assert.Equal(2, layer.NumBatchesTracked);
    }

    /// <summary>Backward twice after one Forward is allowed: the same input gradient, and the parameter gradients of two backward passes.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Backward_TwiceAfterOneForward_SameInputGradient_ParameterGradientsAccumulate(bool training)
    {
        float[] x = TestData.Gaussian<float>(8, 4 * 3 * 5 * 2, mean: 1);
        float[] dy = TestData.Gaussian<float>(9, x.Length);
        var twice = new BatchNorm2d<float>(3);
        var pairs = new BatchNorm2d<float>(3);
        twice.Train(training);
        pairs.Train(training);
        float[] first = new float[x.Length], second = new float[x.Length], reference = new float[x.Length];

        twice.Forward(x, s_shape, new float[x.Length]);
        twice.Backward(x, s_shape, dy, first);
        twice.Backward(x, s_shape, dy, second);
        for (int i = 0; i < 2; i++)
        {
            pairs.Forward(x, s_shape, new float[x.Length]);
            pairs.Backward(x, s_shape, dy, reference);
        }

        Assert.Equal(first, second);
        Assert.Equal(reference, second);
        Assert.Equal(pairs.WeightGradient.ToArray(), twice.WeightGradient.ToArray());
        Assert.Equal(pairs.BiasGradient.ToArray(), twice.BiasGradient.ToArray());
        Assert.NotEqual(0f, twice.BiasGradient[0]);
    }

    private static (BatchNorm2d<float> Layer, float[] Output) ForwardAlone(float[] x)
    {
        var group = new InProcessCommunicatorGroup(1);
        var alone = new BatchNorm2d<float>(3) { Communicator = group.Communicators[0] };
        var y = new float[x.Length];
        alone.Forward(x, s_shape, y);
        return (alone, y);
    }

    private static Thread Start(Action body)
    {
        var thread = new Thread(() => body());
        thread.Start();
        return thread;
    }

    /// <summary>
    /// A group of one replica whose collectives, while closed, wait inside until <see cref="Release"/>: a synchronized
    /// call stays inside the layer for as long as the test needs.
    /// </summary>
    private sealed class GatedCommunicator : ICollectiveCommunicator, IDisposable
    {
        private readonly SemaphoreSlim _inside = new(0);
        private readonly SemaphoreSlim _release = new(0);
        private volatile bool _open;

        public int Rank => 0;

        public int Size => 1;

        public void Open() => _open = true;

        public void Close() => _open = false;

        public void WaitUntilInside() => Assert.True(_inside.Wait(TimeSpan.FromSeconds(30)), "The first call never reached the collective.");

        public void Release() => _release.Release();

        public void AllGather(ReadOnlySpan<double> send, Span<double> receive)
        {
            Gate();
            send.CopyTo(receive);
        }

        public void AllReduceSum(Span<double> values) => Gate();

        public void Dispose()
        {
            _inside.Dispose();
            _release.Dispose();
        }

        private void Gate()
        {
            if (!_open)
            {
                _inside.Release();
                Assert.True(_release.Wait(TimeSpan.FromSeconds(30)), "The test never released the collective.");
            }
        }
    }
}
