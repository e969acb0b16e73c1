using System;
using Xunit;
using Xunit.Abstractions;

namespace BatchNorm.Tests.Layers;

/// <summary>
/// After a warm-up, the training variants and the 16-bit overloads allocate nothing per call (one thread; the
/// multi-threaded path is shared with the plain layer, whose allocation tests cover it).
/// </summary>
[Collection(AllocationTestCollection.Name)]
public sealed class LayerVariantAllocationTests(ITestOutputHelper output)
{
    private static readonly int[] s_shape = [8, 6, 9, 9];

    [Theory]
    [InlineData("Half")]
    [InlineData("BFloat16")]
    [InlineData("renormalization")]
    [InlineData("ghost batches")]
    [InlineData("frozen statistics")]
    [InlineData("biased running variance")]
    [InlineData("small batch, running statistics")]
    [InlineData("small batch, skip update")]
    [InlineData("fused relu")]
    [InlineData("fused relu, short runs")]
    [InlineData("residual add and relu")]
    public void SteadyState_AllocatesNothing(string variant)
    {
        Action cycle = Cycle(variant);
        for (int i = 0; i < 5; i++)
        {
            cycle();
        }

        long best = long.MaxValue;
        for (int trial = 0; trial < 5 && best != 0; trial++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 10; i++)
            {
                cycle();
            }

            best = Math.Min(best, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        output.WriteLine($"{variant}: {best} bytes in 10 cycles");
        Assert.Equal(0, best);
    }

    /// <summary>A training forward and backward (and an evaluation forward) of a layer set up for <paramref name="variant"/>.</summary>
    private static Action Cycle(string variant)
    {
        int length = TestData.Length(s_shape);
        var layer = new BatchNorm2d<float>(6) { MaxDegreeOfParallelism = 1 };
        float[] x = TestData.Gaussian<float>(1, length, 1, 2), dy = TestData.Gaussian<float>(2, length), y = new float[length], dx = new float[length];
        int[] shape = s_shape;
        switch (variant)
        {
            case "Half":
                return SixteenBitCycle(layer, SixteenBit.Random<Half>(3, length), SixteenBit.Random<Half>(4, length));
            case "BFloat16":
                return SixteenBitCycle(layer, SixteenBit.Random<BFloat16>(3, length), SixteenBit.Random<BFloat16>(4, length));
            case "renormalization":
                layer.Renormalization = new BatchRenormalization { RMax = 2, DMax = 1 };
                break;
            case "ghost batches":
                layer.VirtualBatchSize = 2;
                break;
            case "frozen statistics":
                layer.FrozenStatistics = true;
                break;
            case "fused relu":
                layer.Activation = BatchNormActivation.Relu;
                break;
            case "fused relu, short runs":
                layer.Activation = BatchNormActivation.Relu;
                shape = [length / 6, 6, 1, 1];
                break;
            case "residual add and relu":
                layer.Activation = BatchNormActivation.Relu;
                return ResidualCycle(layer, x, dy);
            case "biased running variance":
                layer.RunningVarianceEstimator = RunningVarianceEstimator.Biased;
                break;
            default:
                layer.SmallBatchPolicy = variant.EndsWith("running statistics", StringComparison.Ordinal) ? SmallBatchPolicy.UseRunningStatistics : SmallBatchPolicy.SkipUpdate;
                shape = [1, 6, 1, 1];
                (x, dy, y, dx) = (x[..6], dy[..6], y[..6], dx[..6]);
                break;
        }

        return () =>
        {
            layer.Train();
            layer.Forward(x, shape, y);
            layer.Backward(x, shape, dy, dx);
            layer.Eval();
            layer.Forward(x, shape, y);
        };
    }

    private static Action ResidualCycle(BatchNorm2d<float> layer, float[] x, float[] dy)
    {
        float[] residual = TestData.Gaussian<float>(5, x.Length), y = new float[x.Length], dx = new float[x.Length], dResidual = new float[x.Length];
        return () =>
        {
            layer.Train();
            layer.ForwardWithResidual(x, residual, s_shape, y);
            layer.BackwardWithResidual(x, residual, s_shape, dy, dx, dResidual);
            layer.Eval();
            layer.ForwardWithResidual(x, residual, s_shape, y);
        };
    }

    private static Action SixteenBitCycle<TData>(BatchNorm2d<float> layer, TData[] x, TData[] dy)
        where TData : unmanaged
    {
        TData[] y = new TData[x.Length], dx = new TData[x.Length];
        return () =>
        {
            layer.Train();
            SixteenBit.Forward(layer, x, s_shape, y);
            SixteenBit.Backward(layer, x, s_shape, dy, dx);
            layer.Eval();
            SixteenBit.Forward(layer, x, s_shape, y);
        };
    }
}
