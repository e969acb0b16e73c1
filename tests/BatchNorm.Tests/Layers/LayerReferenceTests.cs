using System;
using System.Collections.Generic;
using System.Numerics;
using Xunit;

namespace BatchNorm.Tests.Layers;

/// <summary>The layers against <see cref="Reference.ReferenceBatchNorm"/>, for every mode and option.</summary>
public abstract class LayerReferenceTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private static readonly int[][] s_shapes =
    [
        [5, 3],             // BatchNorm1d (N, C)
        [3, 2, 7],          // BatchNorm1d (N, C, L)
        [2, 3, 5, 4],       // BatchNorm2d
        [2, 2, 3, 2, 3],    // BatchNorm3d
        [2, 3],             // N * spatial = 2
        [1, 4, 2],          // N * spatial = 2, N = 1
        [2, 2, 1, 1, 1],    // N * spatial = 2, rank 5
        [7, 1, 9],          // C = 1
        [3, 5, 7, 3],       // odd sizes
        [33, 3],            // odd N, S = 1
    ];

    public static IEnumerable<object?[]> TrainingCases()
    {
        foreach (int[] shape in s_shapes)
        {
            foreach (double? momentum in new double?[] { 0.1, 0.3, null })
            {
                foreach (bool affine in new[] { true, false })
                {
                    yield return [shape, momentum, 0L, affine, true];
                    yield return [shape, momentum, 4L, affine, true];
                    yield return [shape, momentum, 0L, affine, false];
                }
            }
        }
    }

    public static IEnumerable<object[]> SpatialSizes()
    {
        for (int length = 1; length <= 130; length++)
        {
            yield return [length];
        }

        // Runs long enough to take their ends element by element (2 KB and more), with every remainder.
        for (int length = 512; length <= 520; length++)
        {
            yield return [length];
        }
    }

    /// <summary>
    /// Three training steps (output, running statistics, counter, dx and accumulating parameter gradients after each),
    /// then an evaluation forward and backward.
    /// </summary>
    [Theory]
    [MemberData(nameof(TrainingCases))]
    public void TrainThenEval_MatchesReference(int[] shape, double? momentum, long startCount, bool affine, bool track)
    {
        var pair = new LayerPair<T>(shape, 1e-5, momentum, affine, track);
        pair.RandomizeParameters(seed: 7);
        pair.SetNumBatchesTracked(startCount);
        for (int step = 0; step < 3; step++)
        {
            T[] x = TestData.Gaussian<T>(100 + step, pair.Length, mean: 0.5 + step, std: 2);
            pair.Forward(x);
            pair.Backward(x, TestData.Gaussian<T>(200 + step, pair.Length));
        }

        pair.Train(false);
        T[] evalX = TestData.Gaussian<T>(300, pair.Length, mean: 1, std: 3);
        pair.Forward(evalX);
        pair.Backward(evalX, TestData.Gaussian<T>(301, pair.Length));
    }

    /// <summary>Every path: each shape of every <see cref="ShapeClasses"/> class below the parallel threshold (ShapeClassPathTests asserts the paths).</summary>
    [Theory]
    [MemberData(nameof(ShapeClasses.SmallShapes), MemberType = typeof(ShapeClasses))]
    public void TrainThenEval_OnEveryPath_MatchesReference(string shapeClass, int[] shape)
    {
        Assert.NotNull(shapeClass);
        TrainThenEval_MatchesReference(shape, 0.1, 0, affine: true, track: true);
    }

    /// <summary>Large shapes of several chunks, each a shape of a <see cref="ShapeClasses"/> class (whose path ShapeClassPathTests asserts).</summary>
    [Theory]
    [InlineData(new[] { 3, 700, 100 })]
    [InlineData(new[] { 600, 300 })]
    [InlineData(new[] { 130, 1100 })]
    [InlineData(new[] { 9, 200, 50 })]
    [InlineData(new[] { 2, 3, 1500 })]
    [InlineData(new[] { 2, 70, 1030 })]
    public void TrainThenEval_ChunkedShapes_MatchReference(int[] shape)
    {
        Assert.True(ShapeClasses.IsClassified(shape), $"[{string.Join(", ", shape)}] is of no shape class");
        TrainThenEval_MatchesReference(shape, 0.1, 0, affine: true, track: true);
    }

    /// <summary>Wide rows and short odd runs, of no shape class.</summary>
    [Theory]
    [InlineData(new[] { 40, 1100 })]
    [InlineData(new[] { 70, 30, 9 })]
    public void TrainThenEval_OtherShapes_MatchReference(int[] shape) =>
        TrainThenEval_MatchesReference(shape, 0.1, 0, affine: true, track: true);

    /// <summary>Every SIMD tail length, with all four tensors sliced out of sentinel-filled arrays.</summary>
    [Theory]
    [MemberData(nameof(SpatialSizes))]
    public void TrainThenEval_SlicedSpatialSizeSweep_MatchesReferenceAndKeepsPadding(int length)
    {
        var pair = new LayerPair<T>([3, 2, length]);
        pair.RandomizeParameters(seed: length);
        foreach (bool training in new[] { true, false })
        {
            pair.Train(training);
            var x = new SentinelBuffer<T>(TestData.Gaussian<T>(length, pair.Length, mean: -2, std: 0.5));
            var y = new SentinelBuffer<T>(new T[pair.Length]);
            var dy = new SentinelBuffer<T>(TestData.Gaussian<T>(1000 + length, pair.Length));
            var dx = new SentinelBuffer<T>(new T[pair.Length]);
            pair.Forward(x.Span, y.Span);
            pair.Backward(x.Span, dy.Span, dx.Span);
            x.AssertPaddingUntouched("input");
            y.AssertPaddingUntouched("output");
            dy.AssertPaddingUntouched("gradOutput");
            dx.AssertPaddingUntouched("gradInput");
        }
    }

    /// <summary>Output in the very same memory as the input; gradInput in the very same memory as gradOutput.</summary>
    [Theory]
    [InlineData(new[] { 3, 4, 37 }, true)]
    [InlineData(new[] { 3, 4, 37 }, false)]
    [InlineData(new[] { 4, 3, 5, 7 }, true)]
    [InlineData(new[] { 4, 3, 5, 7 }, false)]
    [InlineData(new[] { 8, 16, 24, 24 }, true)]
    [InlineData(new[] { 8, 16, 24, 24 }, false)]
    public void ForwardAndBackward_InPlace_MatchReference(int[] shape, bool training)
    {
        var pair = new LayerPair<T>(shape);
        pair.RandomizeParameters(seed: 3);
        T[] x = TestData.Gaussian<T>(5, pair.Length, mean: 1, std: 2);
        pair.Forward(x);
        pair.Train(training);

        T[] buffer = (T[])x.Clone();
        pair.Forward(buffer, buffer);
        T[] gradient = TestData.Gaussian<T>(6, pair.Length);
        pair.Backward(x, gradient, gradient);
    }

    /// <summary>A constant channel has variance 0: with epsilon 0 the inverse std is 0 (PyTorch), so y = bias and dx = 0.</summary>
    [Theory]
    [InlineData(0.0)]
    [InlineData(1e-3)]
    public void TrainingWithConstantChannel_MatchesReference(double epsilon)
    {
        var pair = new LayerPair<T>([4, 3, 5], epsilon);
        pair.RandomizeParameters(seed: 11);
        T[] x = TestData.Gaussian<T>(12, pair.Length);
        for (int n = 0; n < 4; n++)
        {
            x.AsSpan((n * 3 + 1) * 5, 5).Fill(T.CreateTruncating(2.5));
        }

        pair.Forward(x);
        pair.Backward(x, TestData.Gaussian<T>(13, pair.Length));
    }

    [Fact]
    public void Backward_AfterEvalForward_DifferentiatesEvalComputationAsItWas()
    {
        var pair = new LayerPair<T>([4, 3, 6]);
        pair.RandomizeParameters(seed: 21);
        pair.Forward(TestData.Gaussian<T>(22, pair.Length, mean: 2, std: 3));
        pair.Train(false);
        T[] x = TestData.Gaussian<T>(23, pair.Length, mean: 1, std: 2);
        pair.Forward(x);

        // Neither the mode nor the running statistics at Backward time matter: the eval forward is differentiated.
        pair.Train(true);
        pair.Layer.ResetRunningStatistics();
        pair.Reference.ResetRunningStatistics();
        pair.Backward(x, TestData.Gaussian<T>(24, pair.Length));
    }

    [Fact]
    public void Backward_AfterTrainingForward_UsesCurrentWeight()
    {
        var pair = new LayerPair<T>([5, 2, 3]);
        pair.RandomizeParameters(seed: 31);
        T[] x = TestData.Gaussian<T>(32, pair.Length, mean: 1, std: 2);
        pair.Forward(x);
        pair.SetWeight([T.CreateTruncating(-1.5), T.CreateTruncating(3.25)]);
        pair.Backward(x, TestData.Gaussian<T>(33, pair.Length));
    }

    [Fact]
    public void ParameterGradients_AccumulateAcrossBackwardCalls_AndZeroGradClears()
    {
        var pair = new LayerPair<T>([6, 3, 4]);
        pair.RandomizeParameters(seed: 41);
        T[] x = TestData.Gaussian<T>(42, pair.Length);
        pair.Forward(x);
        pair.Backward(x, TestData.Gaussian<T>(43, pair.Length));
        T[] once = pair.Layer.WeightGradient.ToArray();
        pair.Backward(x, TestData.Gaussian<T>(44, pair.Length));
        Assert.NotEqual(once, pair.Layer.WeightGradient.ToArray());

        pair.Layer.ZeroGrad();
        pair.Reference.ZeroGrad();
        Assert.All(pair.Layer.WeightGradient.ToArray(), g => Assert.Equal(T.Zero, g));
        Assert.All(pair.Layer.BiasGradient.ToArray(), g => Assert.Equal(T.Zero, g));
        pair.Backward(x, TestData.Gaussian<T>(45, pair.Length));
    }

    [Fact]
    public void ResetParameters_ResetsParametersAndRunningStatistics_NotGradients()
    {
        var pair = new LayerPair<T>([6, 3, 4]);
        pair.RandomizeParameters(seed: 51);
        T[] x = TestData.Gaussian<T>(52, pair.Length, mean: 3, std: 2);
        pair.Forward(x);
        pair.Backward(x, TestData.Gaussian<T>(53, pair.Length));
        T[] weightGradient = pair.Layer.WeightGradient.ToArray(), biasGradient = pair.Layer.BiasGradient.ToArray();

        pair.Layer.ResetParameters();
        pair.Reference.ResetParameters();
        Assert.Equal(weightGradient, pair.Layer.WeightGradient.ToArray());
        Assert.Equal(biasGradient, pair.Layer.BiasGradient.ToArray());
        Assert.Equal([T.One, T.One, T.One], pair.Layer.Weight.ToArray());
        Assert.Equal([T.Zero, T.Zero, T.Zero], pair.Layer.Bias.ToArray());
        pair.AssertRunningStatistics();
        pair.AssertParameterGradients();
    }

    [Fact]
    public void ResetRunningStatistics_KeepsParametersAndGradients()
    {
        var pair = new LayerPair<T>([6, 3, 4]);
        pair.RandomizeParameters(seed: 61);
        T[] x = TestData.Gaussian<T>(62, pair.Length, mean: 3, std: 2);
        pair.Forward(x);
        pair.Backward(x, TestData.Gaussian<T>(63, pair.Length));
        T[] weight = pair.Layer.Weight.ToArray(), bias = pair.Layer.Bias.ToArray();

        pair.Layer.ResetRunningStatistics();
        pair.Reference.ResetRunningStatistics();
        Assert.Equal(weight, pair.Layer.Weight.ToArray());
        Assert.Equal(bias, pair.Layer.Bias.ToArray());
        Assert.Equal(0L, pair.Layer.NumBatchesTracked);
        pair.AssertRunningStatistics();
        pair.AssertParameterGradients();
    }
}

public sealed class LayerReferenceTestsFloat : LayerReferenceTests<float>
{
}

public sealed class LayerReferenceTestsDouble : LayerReferenceTests<double>
{
}
