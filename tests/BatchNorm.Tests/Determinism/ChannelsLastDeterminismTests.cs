using System.Numerics;
using BatchNorm.Kernels;
using Xunit;

namespace BatchNorm.Tests.Determinism;

/// <summary>
/// Channels-last data give the same bits for every thread count: their (N·S, C) rows are reduced in row blocks fixed by
/// the shape and merged in block order.
/// </summary>
public abstract class ChannelsLastDeterminismTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [Theory]
    [InlineData(new[] { 64, 8, 32, 32 })]
    [InlineData(new[] { 16, 70, 9, 9 })]
    [InlineData(new[] { 4, 3, 8, 64, 32 })]
    public void TrainingStepAndEvaluation_AreBitIdentical_ForEveryThreadCount(int[] shape)
    {
        // Several row blocks, so the threads do split the reduction.
        Assert.True(KernelPlan.RowBlocks<T>(BatchNormLayout.FromShape(shape, BatchNormMemoryFormat.ChannelsLast).Storage) > 1);
        Results baseline = Step(shape, 1);
        foreach (int degree in new[] { 2, 3, -1 })
        {
            Results other = Step(shape, degree);
            Expect.BitwiseEqual<T>(baseline.Output, other.Output, $"output, {degree} threads");
            Expect.BitwiseEqual<T>(baseline.GradInput, other.GradInput, $"gradInput, {degree} threads");
            Expect.BitwiseEqual<T>(baseline.EvalOutput, other.EvalOutput, $"eval output, {degree} threads");
            Expect.BitwiseEqual<T>(baseline.RunningVariance, other.RunningVariance, $"running variance, {degree} threads");
            Expect.BitwiseEqual<T>(baseline.WeightGradient, other.WeightGradient, $"weight gradient, {degree} threads");
        }
    }

    private static Results Step(int[] shape, int degree)
    {
        int length = TestData.Length(shape);
        BatchNormBase<T> layer = TestData.CreateLayer<T>(shape.Length, shape[1]);
        layer.MemoryFormat = BatchNormMemoryFormat.ChannelsLast;
        layer.MaxDegreeOfParallelism = degree;
        T[] x = TestData.Gaussian<T>(1, length, 2, 3), dy = TestData.Gaussian<T>(2, length);
        T[] y = new T[length], dx = new T[length], eval = new T[length];
        layer.Forward(x, shape, y);
        layer.Backward(x, shape, dy, dx);
        layer.Eval();
        layer.Forward(dy, shape, eval);
        return new Results(y, dx, eval, layer.RunningVariance.ToArray(), layer.WeightGradient.ToArray());
    }

    private sealed record Results(T[] Output, T[] GradInput, T[] EvalOutput, T[] RunningVariance, T[] WeightGradient);
}

public sealed class ChannelsLastDeterminismTestsFloat : ChannelsLastDeterminismTests<float>
{
}

public sealed class ChannelsLastDeterminismTestsDouble : ChannelsLastDeterminismTests<double>
{
}
