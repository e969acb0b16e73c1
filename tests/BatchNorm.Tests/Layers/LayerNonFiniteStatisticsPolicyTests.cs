using System;
using System.Numerics;
using Xunit;

namespace BatchNorm.Tests.Layers;

/// <summary>
/// <see cref="NonFiniteStatisticsPolicy"/>: what a training forward with running statistics does with a batch whose
/// statistics are not finite (NaN or ±∞ in channel 1 of a (4, 3, 5) batch; for double also an overflowing variance).
/// </summary>
public abstract class LayerNonFiniteStatisticsPolicyTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private const int Poisoned = 1;
    private static readonly int[] Shape = [4, 3, 5];

    public static TheoryData<double> BadValues => new() { double.NaN, double.PositiveInfinity, double.NegativeInfinity };

    /// <summary>Propagate (the default, PyTorch's behaviour): channel 1's running statistics become non-finite, the others are updated as usual, and both counters increment.</summary>
    [Theory]
    [MemberData(nameof(BadValues))]
    public void Propagate_RunningStatisticsOfThatChannelBecomeNonFinite_CountersIncrement(double bad)
    {
        BatchNormBase<T> layer = NewLayer(NonFiniteStatisticsPolicy.Propagate);
        Assert.Equal(NonFiniteStatisticsPolicy.Propagate, new BatchNorm1d<T>(3).NonFiniteStatisticsPolicy);
        var reference = new ReferenceBatchNorm(3, 1e-5, 0.1);
        T[] x = Poison(Data(1), bad);
        var y = new T[x.Length];
        reference.Forward(TestData.ToDouble<T>(x), Shape);
        layer.Forward(x, Shape, y);
        Assert.Equal(1, layer.NumBatchesTracked);
        Assert.Equal(1, layer.NonFiniteBatchCount);
        Assert.False(T.IsFinite(layer.RunningMean[Poisoned]) && T.IsFinite(layer.RunningVariance[Poisoned]), "channel 1's running statistics should be non-finite");
        AssertFiniteChannelsMatch(reference.RunningMean, layer.RunningMean, "running mean");
        AssertFiniteChannelsMatch(reference.RunningVar, layer.RunningVariance, "running variance");
        AssertOutput(reference, x, y);
    }

    /// <summary>SkipUpdate: running statistics and NumBatchesTracked untouched (bit for bit), the output is still produced (NaN in channel 1 only), NonFiniteBatchCount increments, Backward works.</summary>
    [Theory]
    [MemberData(nameof(BadValues))]
    public void SkipUpdate_LeavesRunningStatisticsAlone_StillProducesOutputAndBackward(double bad)
    {
        BatchNormBase<T> layer = NewLayer(NonFiniteStatisticsPolicy.SkipUpdate);
        var reference = new ReferenceBatchNorm(3, 1e-5, 0.1);
        T[] good = Data(1);
        var y = new T[good.Length];
        reference.Forward(TestData.ToDouble<T>(good), Shape);
        layer.Forward(good, Shape, y);
        T[] runningMean = layer.RunningMean.ToArray(), runningVariance = layer.RunningVariance.ToArray();

        T[] x = Poison(Data(2), bad);
        layer.Forward(x, Shape, y);
        Expect.BitwiseEqual<T>(runningMean, layer.RunningMean, "running mean after a skipped batch");
        Expect.BitwiseEqual<T>(runningVariance, layer.RunningVariance, "running variance after a skipped batch");
        Assert.Equal(1, layer.NumBatchesTracked);
        Assert.Equal(1, layer.NonFiniteBatchCount);

        // The output and the backward are those of the batch (the reference does the same arithmetic; its running
        // statistics are not compared).
        AssertOutput(reference, x, y);
        T[] dy = TestData.Gaussian<T>(9, x.Length);
        var dx = new T[x.Length];
        layer.Backward(x, Shape, dy, dx);
        double[] expectedDx = reference.Backward(TestData.ToDouble<T>(x), Shape, TestData.ToDouble<T>(dy));
        AssertPoisonedChannel(expectedDx, dx, "gradInput");
        for (int c = 0; c < 3; c++)
        {
            if (c != Poisoned)
            {
                Expect.Close<T>([reference.WeightGrad[c], reference.BiasGrad[c]], [layer.WeightGradient[c], layer.BiasGradient[c]], Tolerances.For<T>(), $"channel {c} parameter gradients", 1);
            }
        }

        // Another non-finite batch counts again; a good one is folded in as usual.
        layer.Forward(x, Shape, y);
        Assert.Equal(2, layer.NonFiniteBatchCount);
        layer.Forward(good, Shape, y);
        Assert.Equal(2, layer.NumBatchesTracked);
        Assert.Equal(2, layer.NonFiniteBatchCount);
        layer.ResetRunningStatistics();
        Assert.Equal(0, layer.NonFiniteBatchCount);
    }

    /// <summary>
    /// Throw: ArgumentException naming <c>input</c>; nothing changes — parameters, gradients, running statistics,
    /// counters, the output buffer, and the saved forward (Backward afterwards equals Backward after the previous good
    /// forward, bit for bit, on a twin that never saw the bad batch).
    /// </summary>
    [Theory]
    [MemberData(nameof(BadValues))]
    public void Throw_RejectsBatch_NamingInput_AndChangesNothing(double bad)
    {
        BatchNormBase<T> layer = NewLayer(NonFiniteStatisticsPolicy.Throw);
        BatchNormBase<T> twin = NewLayer(NonFiniteStatisticsPolicy.Throw);
        T[] good = Data(1);
        T[] dy = TestData.Gaussian<T>(9, good.Length);
        foreach (BatchNormBase<T> l in new[] { layer, twin })
        {
            TestData.Convert<T>([0.5, -1.5, 2]).CopyTo(l.Weight);
            TestData.Convert<T>([0.25, 1, -1]).CopyTo(l.Bias);
            l.Forward(Data(5), Shape, new T[good.Length]);
            l.Backward(Data(5), Shape, dy, new T[good.Length]);
            l.Forward(good, Shape, new T[good.Length]);
        }

        T[] x = Poison(Data(2), bad);
        T[] output = TestData.Gaussian<T>(77, x.Length);
        var snapshot = new LayerSnapshot<T>(layer, output);
        ArgumentException e = Assert.ThrowsAny<ArgumentException>(() => layer.Forward(x, Shape, output));
        Assert.Equal("input", e.ParamName);
        Assert.IsType<ArgumentException>(e);
        snapshot.AssertSame(layer, output, "after the rejected batch");
        Assert.Equal(0, layer.NonFiniteBatchCount);

        // In place (output = input) the input is not touched either.
        T[] inPlace = (T[])x.Clone();
        Assert.Throws<ArgumentException>(() => layer.Forward(inPlace, Shape, inPlace));
        Expect.BitwiseEqual<T>(x, inPlace, "in-place input after the rejected batch");

        var dx = new T[good.Length];
        var twinDx = new T[good.Length];
        layer.Backward(good, Shape, dy, dx);
        twin.Backward(good, Shape, dy, twinDx);
        Expect.BitwiseEqual<T>(twinDx, dx, "gradInput after the rejected batch");
        Expect.BitwiseEqual<T>(twin.WeightGradient, layer.WeightGradient, "weight gradient");
        Expect.BitwiseEqual<T>(twin.BiasGradient, layer.BiasGradient, "bias gradient");
    }

    /// <summary>Finite batches behave identically, bit for bit, under all three policies (training and eval, forward and backward, all state).</summary>
    [Theory]
    [InlineData(new[] { 6, 3 })]
    [InlineData(new[] { 4, 3, 5 })]
    [InlineData(new[] { 3, 70, 2, 3 })]
    public void FiniteBatches_AreBitIdentical_UnderEveryPolicy(int[] shape)
    {
        T[][] reference = RunFinite(shape, NonFiniteStatisticsPolicy.Propagate);
        foreach (NonFiniteStatisticsPolicy policy in new[] { NonFiniteStatisticsPolicy.SkipUpdate, NonFiniteStatisticsPolicy.Throw })
        {
            T[][] results = RunFinite(shape, policy);
            for (int i = 0; i < reference.Length; i++)
            {
                Expect.BitwiseEqual<T>(reference[i], results[i], $"{policy}: result {i}");
            }
        }
    }

    /// <summary>Eval forward (running statistics) never consults the policy: no throw, no count, NaN stays element-wise.</summary>
    [Theory]
    [InlineData(NonFiniteStatisticsPolicy.Throw)]
    [InlineData(NonFiniteStatisticsPolicy.SkipUpdate)]
    public void EvalForward_NeverConsultsPolicy(NonFiniteStatisticsPolicy policy)
    {
        BatchNormBase<T> layer = NewLayer(policy);
        layer.Forward(Data(1), Shape, new T[60]);
        layer.Eval();
        T[] runningMean = layer.RunningMean.ToArray();
        T[] x = Poison(Data(2), double.NaN);
        var y = new T[x.Length];
        layer.Forward(x, Shape, y);
        Assert.Equal(0, layer.NonFiniteBatchCount);
        Assert.Equal(1, layer.NumBatchesTracked);
        Expect.BitwiseEqual<T>(runningMean, layer.RunningMean, "running mean");
        int nan = 0;
        foreach (T v in y)
        {
            nan += T.IsNaN(v) ? 1 : 0;
        }

        Assert.Equal(1, nan);
    }

    /// <summary>Training without running statistics never consults the policy: no throw, no count; the channel's output is NaN.</summary>
    [Theory]
    [InlineData(NonFiniteStatisticsPolicy.Throw, true)]
    [InlineData(NonFiniteStatisticsPolicy.SkipUpdate, true)]
    [InlineData(NonFiniteStatisticsPolicy.Throw, false)]
    public void TrackingOff_NeverConsultsPolicy(NonFiniteStatisticsPolicy policy, bool training)
    {
        BatchNormBase<T> layer = TestData.CreateLayer<T>(3, 3, trackRunningStatistics: false);
        layer.NonFiniteStatisticsPolicy = policy;
        layer.Train(training);
        var reference = new ReferenceBatchNorm(3, 1e-5, 0.1, true, false);
        T[] x = Poison(Data(2), double.NaN);
        var y = new T[x.Length];
        layer.Forward(x, Shape, y);
        Assert.Equal(0, layer.NonFiniteBatchCount);
        Assert.Equal(0, layer.NumBatchesTracked);
        reference.Training = training;
        AssertOutput(reference, x, y);
    }

    /// <summary>An undefined policy value is rejected with ArgumentOutOfRangeException and leaves the policy as it was.</summary>
    [Fact]
    public void UndefinedPolicy_IsRejected()
    {
        BatchNormBase<T> layer = NewLayer(NonFiniteStatisticsPolicy.SkipUpdate);
        Assert.Throws<ArgumentOutOfRangeException>(() => layer.NonFiniteStatisticsPolicy = (NonFiniteStatisticsPolicy)3);
        Assert.Throws<ArgumentOutOfRangeException>(() => layer.NonFiniteStatisticsPolicy = (NonFiniteStatisticsPolicy)(-1));
        Assert.Equal(NonFiniteStatisticsPolicy.SkipUpdate, layer.NonFiniteStatisticsPolicy);
    }

    private static T[][] RunFinite(int[] shape, NonFiniteStatisticsPolicy policy)
    {
        BatchNormBase<T> layer = TestData.CreateLayer<T>(shape.Length, shape[1], momentum: null);
        layer.NonFiniteStatisticsPolicy = policy;
        TestData.Convert<T>(TestData.Uniform(3, shape[1], -1, 2)).CopyTo(layer.Weight);
        int length = TestData.Length(shape);
        var y = new T[length];
        var dx = new T[length];
        var results = new System.Collections.Generic.List<T[]>();
        for (int step = 0; step < 3; step++)
        {
            layer.Train(step != 2);
            T[] x = TestData.Gaussian<T>(step, length, 1000 * step, 1 + step);
            layer.Forward(x, shape, y);
            layer.Backward(x, shape, TestData.Gaussian<T>(10 + step, length), dx);
            results.AddRange([(T[])y.Clone(), (T[])dx.Clone(), layer.RunningMean.ToArray(), layer.RunningVariance.ToArray(), layer.WeightGradient.ToArray(), layer.BiasGradient.ToArray(), [T.CreateTruncating(layer.NumBatchesTracked), T.CreateTruncating(layer.NonFiniteBatchCount)]]);
        }

        return results.ToArray();
    }

    private static BatchNormBase<T> NewLayer(NonFiniteStatisticsPolicy policy)
    {
        BatchNormBase<T> layer = TestData.CreateLayer<T>(3, 3);
        layer.NonFiniteStatisticsPolicy = policy;
        return layer;
    }

    private static T[] Data(int seed) => TestData.Gaussian<T>(seed, 60, 2, 3);

    /// <summary>Puts <paramref name="bad"/> into channel 1 (at sample 2, position 3) of a (4, 3, 5) batch.</summary>
    private static T[] Poison(T[] x, double bad)
    {
        x[((2 * 3) + Poisoned) * 5 + 3] = T.CreateTruncating(bad);
        return x;
    }

    /// <summary>The output matches the reference outside channel 1 and is NaN throughout channel 1.</summary>
    private static void AssertOutput(ReferenceBatchNorm reference, T[] x, T[] y)
    {
        double[] expected = reference.Forward(TestData.ToDouble<T>(x), Shape);
        AssertPoisonedChannel(expected, y, "output");
    }

    private static void AssertPoisonedChannel(double[] expected, T[] actual, string what)
    {
        var clean = new System.Collections.Generic.List<double>();
        var cleanActual = new System.Collections.Generic.List<T>();
        for (int i = 0; i < actual.Length; i++)
        {
            if (i / 5 % 3 == Poisoned)
            {
                Assert.True(T.IsNaN(actual[i]), $"{what}[{i}] in the poisoned channel is {actual[i]}, expected NaN");
            }
            else
            {
                clean.Add(expected[i]);
                cleanActual.Add(actual[i]);
            }
        }

        Expect.Close<T>(clean.ToArray(), cleanActual.ToArray(), Tolerances.For<T>(), $"{what} outside the poisoned channel");
    }

    private static void AssertFiniteChannelsMatch(double[] expected, Span<T> actual, string what)
    {
        for (int c = 0; c < 3; c++)
        {
            if (c != Poisoned)
            {
                Expect.Close<T>([expected[c]], [actual[c]], Tolerances.For<T>(), $"{what}[{c}]");
            }
        }
    }
}

public sealed class LayerNonFiniteStatisticsPolicyTestsFloat : LayerNonFiniteStatisticsPolicyTests<float>
{
}

/// <summary>For double, also a variance that overflows to +∞ from finite data (±1e300) counts as non-finite.</summary>
public sealed class LayerNonFiniteStatisticsPolicyTestsDouble : LayerNonFiniteStatisticsPolicyTests<double>
{
    [Theory]
    [InlineData(NonFiniteStatisticsPolicy.SkipUpdate)]
    [InlineData(NonFiniteStatisticsPolicy.Throw)]
    public void OverflowingVariance_IsNonFinite(NonFiniteStatisticsPolicy policy)
    {
        var layer = new BatchNorm1d<double>(2) { NonFiniteStatisticsPolicy = policy };
        double[] x = [1e300, 1, -1e300, 2, 1e300, 3, -1e300, 4];
        var y = new double[x.Length];
        if (policy == NonFiniteStatisticsPolicy.Throw)
        {
            Assert.Throws<ArgumentException>(() => layer.Forward(x, [4, 2], y));
            Assert.Equal(0, layer.NumBatchesTracked);
            return;
        }

        layer.Forward(x, [4, 2], y);
        Assert.Equal(0, layer.NumBatchesTracked);
        Assert.Equal(1, layer.NonFiniteBatchCount);
        Assert.Equal([0.0, 0.0], layer.RunningMean.ToArray());
        Assert.Equal([1.0, 1.0], layer.RunningVariance.ToArray());
    }
}
