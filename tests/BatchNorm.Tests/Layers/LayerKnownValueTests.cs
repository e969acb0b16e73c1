using System;
using System.Numerics;
using Xunit;
using static BatchNorm.Tests.TestData;

namespace BatchNorm.Tests.Layers;

/// <summary>Hand-computed values, the initial state, the mode switches and the reset methods.</summary>
public abstract class LayerKnownValueTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>
    /// Channel 0 of the (16, 3) batch: the values 1..7, sum 64, so the mean is 4; the deviations are
    /// -3, 3, -2, 2, -2, 2, -1, 1, -1, 1, -1, 1, 0, 0, 0, 0, so Σ(x - μ)² = 9+9 + 4+4+4+4 + 1+1+1+1+1+1 = 40
    /// (biased variance 40/16 = 2.5, unbiased 40/15). Channel 1 is 10 + 2x (mean 18, Σ(x - μ)² = 160) and
    /// channel 2 is the constant 5.
    /// </summary>
    private static double[] SixteenValues => [1, 7, 2, 6, 2, 6, 3, 5, 3, 5, 3, 5, 4, 4, 4, 4];

    private static int[] SixteenShape => [16, 3];

    private static int[] FourShape => [4, 3];

    [Fact]
    public void SixteenValues_HaveMeanFourAndSumOfSquaredDeviationsForty()
    {
        double[] v = SixteenValues;
        double sum = 0, squares = 0;
        foreach (double x in v)
        {
            sum += x;
        }

        foreach (double x in v)
        {
            squares += (x - 4) * (x - 4);
        }

        Assert.Equal(16, v.Length);
        Assert.Equal(64, sum);
        Assert.Equal(40, squares);
        for (int value = 1; value <= 7; value++)
        {
            Assert.Contains(value, v);
        }
    }

    [Fact]
    public void OneTrainingStep_SixteenValueBatch_GivesKnownOutputAndRunningStatistics()
    {
        var layer = new BatchNorm1d<T>(3);
        T[] input = SixteenBatch();
        var output = new T[input.Length];
        layer.Forward(input, SixteenShape, output);

        Assert.Equal(1, layer.NumBatchesTracked);
        Expect.Known(0.1 * 4, layer.RunningMean[0], "running_mean[0]");
        Expect.Known(0.9 + (0.1 * 40 / 15), layer.RunningVariance[0], "running_var[0]");
        Expect.Known(0.1 * 18, layer.RunningMean[1], "running_mean[1]");
        Expect.Known(0.9 + (0.1 * 160 / 15), layer.RunningVariance[1], "running_var[1]");
        Expect.Known(0.1 * 5, layer.RunningMean[2], "running_mean[2]");
        Expect.Known(0.9, layer.RunningVariance[2], "running_var[2]");

        double[] v = SixteenValues;
        for (int n = 0; n < 16; n++)
        {
            Expect.Known((v[n] - 4) / Math.Sqrt(2.5 + 1e-5), output[3 * n], $"y[{n}, 0]");
            Expect.Known((10 + (2 * v[n]) - 18) / Math.Sqrt(10 + 1e-5), output[(3 * n) + 1], $"y[{n}, 1]");
            Assert.Equal(0.0, double.CreateChecked(output[(3 * n) + 2]));
        }
    }

    [Theory]
    [InlineData(new[] { 4, 1 })]
    [InlineData(new[] { 1, 1, 4 })]
    [InlineData(new[] { 2, 1, 2 })]
    [InlineData(new[] { 1, 1, 2, 2 })]
    [InlineData(new[] { 2, 1, 1, 2 })]
    [InlineData(new[] { 1, 1, 1, 2, 2 })]
    [InlineData(new[] { 2, 1, 2, 1, 1 })]
    public void OneToFour_GivesBiasedVarianceInOutputAndUnbiasedInRunningVariance(int[] shape)
    {
        // mean 2.5; biased variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25; unbiased 5/3.
        BatchNormBase<T> layer = CreateLayer<T>(shape.Length, 1);
        T[] x = Values<T>(1, 2, 3, 4);
        var y = new T[4];
        layer.Forward(x, shape, y);
        for (int i = 0; i < 4; i++)
        {
            Expect.Known((i + 1 - 2.5) / Math.Sqrt(1.25 + 1e-5), y[i], $"training y[{i}]");
        }

        Expect.Known(0.25, layer.RunningMean[0], "running_mean");
        Expect.Known(0.9 + (0.1 * 5 / 3), layer.RunningVariance[0], "running_var");
        Assert.Equal(1, layer.NumBatchesTracked);

        // Eval normalizes with the running statistics and leaves them alone.
        layer.Eval();
        layer.Forward(x, shape, y);
        for (int i = 0; i < 4; i++)
        {
            Expect.Known((i + 1 - 0.25) / Math.Sqrt(0.9 + (0.1 * 5 / 3) + 1e-5), y[i], $"eval y[{i}]");
        }

        Expect.Known(0.25, layer.RunningMean[0], "running_mean after eval");
        Assert.Equal(1, layer.NumBatchesTracked);
    }

    [Fact]
    public void OneToFour_WithWeightAndBias_KnownOutputAndGradients()
    {
        // w = 2, b = 0.5, dy = (1, 0, 0, 0). With s = 1/sqrt(1.25 + eps) and xhat = (x - 2.5) s:
        // Σdy = 1, Σdy·xhat = -1.5 s, dx = w s (dy - 1/4 - xhat (-1.5 s) / 4); for eps → 0 (s² = 0.8) that is
        // 2 s (0.3, -0.4, -0.1, 0.2).
        var layer = new BatchNorm1d<T>(1);
        layer.Weight[0] = T.CreateChecked(2);
        layer.Bias[0] = T.CreateChecked(0.5);
        T[] x = Values<T>(1, 2, 3, 4);
        T[] dy = Values<T>(1, 0, 0, 0);
        var y = new T[4];
        var dx = new T[4];
        int[] shape = [4, 1];
        layer.Forward(x, shape, y);
        layer.Backward(x, shape, dy, dx);

        double s = 1 / Math.Sqrt(1.25 + 1e-5);
        double[] approximate = [0.3, -0.4, -0.1, 0.2];
        for (int i = 0; i < 4; i++)
        {
            double xhat = (i + 1 - 2.5) * s;
            Expect.Known((2 * xhat) + 0.5, y[i], $"y[{i}]");
            double expected = 2 * s * ((i == 0 ? 1 : 0) - 0.25 - (xhat * -1.5 * s / 4));
            Expect.Known(expected, dx[i], $"dx[{i}]");
            Assert.Equal(2 * s * approximate[i], double.CreateChecked(dx[i]), Tolerances.EpsilonFreeDecimalPlaces);
        }

        Expect.Known(-1.5 * s, layer.WeightGradient[0], "dweight");
        Expect.Known(1, layer.BiasGradient[0], "dbias");

        // Eval backward: the running statistics (mean 0.25, var 0.9 + 0.1 * 5/3) are constants.
        layer.Eval();
        layer.Forward(x, shape, y);
        layer.Backward(x, shape, dy, dx);
        double sr = 1 / Math.Sqrt(0.9 + (0.1 * 5 / 3) + 1e-5);
        Expect.Known(2 * sr, dx[0], "eval dx[0]");
        for (int i = 1; i < 4; i++)
        {
            Assert.Equal(0.0, double.CreateChecked(dx[i]));
        }

        Expect.Known((-1.5 * s) + ((1 - 0.25) * sr), layer.WeightGradient[0], "accumulated dweight");
        Expect.Known(2, layer.BiasGradient[0], "accumulated dbias");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(5)]
    public void Defaults_AfterConstruction(int rank)
    {
        BatchNormBase<T> layer = rank switch
        {
            2 => new BatchNorm1d<T>(5),
            4 => new BatchNorm2d<T>(5),
            _ => new BatchNorm3d<T>(5),
        };
        Assert.True(layer.IsTraining);
        Assert.Equal(5, layer.NumFeatures);
        Assert.Equal(1e-5, layer.Epsilon);
        Assert.Equal(0.1, layer.Momentum);
        Assert.True(layer.Affine);
        Assert.True(layer.TrackRunningStatistics);
        Assert.Equal(0, layer.NumBatchesTracked);
        Assert.Equal(-1, layer.MaxDegreeOfParallelism);
        Expect.BitwiseEqual<T>(Filled(5, 1), layer.Weight, "Weight");
        Expect.BitwiseEqual<T>(Filled(5, 0), layer.Bias, "Bias");
        Expect.BitwiseEqual<T>(Filled(5, 0), layer.WeightGradient, "WeightGradient");
        Expect.BitwiseEqual<T>(Filled(5, 0), layer.BiasGradient, "BiasGradient");
        Expect.BitwiseEqual<T>(Filled(5, 0), layer.RunningMean, "RunningMean");
        Expect.BitwiseEqual<T>(Filled(5, 1), layer.RunningVariance, "RunningVariance");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void AffineFalse_HasEmptyParametersAndBehavesAsWeightOneBiasZero(int rank)
    {
        BatchNormBase<T> plain = CreateLayer<T>(rank, 3, affine: false);
        BatchNormBase<T> affine = CreateLayer<T>(rank, 3);
        Assert.False(plain.Affine);
        Assert.True(plain.Weight.IsEmpty);
        Assert.True(plain.Bias.IsEmpty);
        Assert.True(plain.WeightGradient.IsEmpty);
        Assert.True(plain.BiasGradient.IsEmpty);
        Assert.Equal(3, plain.RunningMean.Length);

        int[] shape = MakeShape(rank, 4);
        int length = Length(shape);
        T[] x = RandomValues<T>(length, 1, 2, 3);
        T[] dy = RandomValues<T>(length, 2);
        var y = new T[length];
        var expectedY = new T[length];
        var dx = new T[length];
        var expectedDx = new T[length];
        foreach (bool training in new[] { true, false })
        {
            plain.Train(training);
            affine.Train(training);
            plain.Forward(x, shape, y);
            affine.Forward(x, shape, expectedY);
            plain.Backward(x, shape, dy, dx);
            affine.Backward(x, shape, dy, expectedDx);
            Expect.BitwiseEqual<T>(expectedY, y, $"output (training: {training})");
            Expect.BitwiseEqual<T>(expectedDx, dx, $"gradInput (training: {training})");
            Expect.BitwiseEqual<T>(affine.RunningMean, plain.RunningMean, "RunningMean");
            Expect.BitwiseEqual<T>(affine.RunningVariance, plain.RunningVariance, "RunningVariance");
        }

        Assert.True(plain.WeightGradient.IsEmpty);
        Assert.True(plain.BiasGradient.IsEmpty);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void TrackFalse_HasNoRunningStatistics_CounterStaysZero_EvalUsesBatchStatistics(int rank)
    {
        BatchNormBase<T> layer = CreateLayer<T>(rank, 3, trackRunningStatistics: false);
        Assert.False(layer.TrackRunningStatistics);
        Assert.True(layer.RunningMean.IsEmpty);
        Assert.True(layer.RunningVariance.IsEmpty);
        Assert.Equal(3, layer.Weight.Length);

        int[] shape = MakeShape(rank, 4);
        int length = Length(shape);
        T[] dy = RandomValues<T>(length, 2);
        var y = new T[length];
        var dx = new T[length];
        for (int step = 0; step < 3; step++)
        {
            T[] batch = RandomValues<T>(length, 10 + step, step, 2);
            layer.Forward(batch, shape, y);
            layer.Backward(batch, shape, dy, dx);
            Assert.Equal(0, layer.NumBatchesTracked);
        }

        T[] x = RandomValues<T>(length, 1, 2, 3);
        var trainY = new T[length];
        var trainDx = new T[length];
        layer.Forward(x, shape, trainY);
        layer.Backward(x, shape, dy, trainDx);
        layer.Eval();
        layer.Forward(x, shape, y);
        layer.Backward(x, shape, dy, dx);
        Expect.BitwiseEqual<T>(trainY, y, "eval output");
        Expect.BitwiseEqual<T>(trainDx, dx, "eval gradInput");
        Assert.Equal(0, layer.NumBatchesTracked);
    }

    [Fact]
    public void TrainAndEval_SetIsTraining()
    {
        var layer = new BatchNorm2d<T>(3);
        layer.Train(false);
        Assert.False(layer.IsTraining);
        layer.Train();
        Assert.True(layer.IsTraining);
        layer.Eval();
        Assert.False(layer.IsTraining);
        layer.Eval();
        Assert.False(layer.IsTraining);
        layer.Train(true);
        Assert.True(layer.IsTraining);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(5)]
    public void EvalForward_LeavesRunningStatisticsAndCounterAlone(int rank)
    {
        var pair = new TrainedPair<T>(rank, training: false);
        T[] x = RandomValues<T>(pair.Input.Length, 5, 3, 2);
        var y = new T[x.Length];
        var before = new LayerSnapshot<T>(pair.Layer, ReadOnlySpan<T>.Empty);
        pair.Layer.Forward(x, pair.Shape, y);
        before.AssertSame(pair.Layer, ReadOnlySpan<T>.Empty, "after an eval Forward");
    }

    [Fact]
    public void ResetParameters_RestoresWeightBiasAndRunningStatistics_KeepsGradients()
    {
        var pair = new TrainedPair<T>(4, training: false);
        BatchNormBase<T> layer = pair.Layer;
        T[] weightGradient = layer.WeightGradient.ToArray();
        T[] biasGradient = layer.BiasGradient.ToArray();
        Assert.Contains(weightGradient, g => g != T.Zero);
        Assert.NotEqual(0, layer.NumBatchesTracked);

        layer.ResetParameters();
        Expect.BitwiseEqual<T>(Filled(3, 1), layer.Weight, "Weight");
        Expect.BitwiseEqual<T>(Filled(3, 0), layer.Bias, "Bias");
        Expect.BitwiseEqual<T>(Filled(3, 0), layer.RunningMean, "RunningMean");
        Expect.BitwiseEqual<T>(Filled(3, 1), layer.RunningVariance, "RunningVariance");
        Assert.Equal(0, layer.NumBatchesTracked);
        Expect.BitwiseEqual<T>(weightGradient, layer.WeightGradient, "WeightGradient");
        Expect.BitwiseEqual<T>(biasGradient, layer.BiasGradient, "BiasGradient");
        Assert.False(layer.IsTraining);
    }

    [Fact]
    public void ResetRunningStatistics_ResetsOnlyRunningStatisticsAndCounter()
    {
        var pair = new TrainedPair<T>(5, training: true);
        BatchNormBase<T> layer = pair.Layer;
        T[] weight = layer.Weight.ToArray();
        T[] bias = layer.Bias.ToArray();
        T[] weightGradient = layer.WeightGradient.ToArray();
        T[] biasGradient = layer.BiasGradient.ToArray();
        Assert.Contains(weight, w => w != T.One);

        layer.ResetRunningStatistics();
        Expect.BitwiseEqual<T>(Filled(3, 0), layer.RunningMean, "RunningMean");
        Expect.BitwiseEqual<T>(Filled(3, 1), layer.RunningVariance, "RunningVariance");
        Assert.Equal(0, layer.NumBatchesTracked);
        Expect.BitwiseEqual<T>(weight, layer.Weight, "Weight");
        Expect.BitwiseEqual<T>(bias, layer.Bias, "Bias");
        Expect.BitwiseEqual<T>(weightGradient, layer.WeightGradient, "WeightGradient");
        Expect.BitwiseEqual<T>(biasGradient, layer.BiasGradient, "BiasGradient");
        Assert.True(layer.IsTraining);
    }

    [Theory]
    [InlineData(2, true)]
    [InlineData(3, false)]
    [InlineData(4, true)]
    [InlineData(5, false)]
    public void Gradients_AccumulateUntilZeroGrad_WhichClearsOnlyThem(int rank, bool training)
    {
        var pair = new TrainedPair<T>(rank, training);
        BatchNormBase<T> layer = pair.Layer;
        layer.ZeroGrad();
        Expect.BitwiseEqual<T>(Filled(3, 0), layer.WeightGradient, "WeightGradient after ZeroGrad");
        Expect.BitwiseEqual<T>(Filled(3, 0), layer.BiasGradient, "BiasGradient after ZeroGrad");

        var dx = new T[pair.Input.Length];
        layer.Backward(pair.Input, pair.Shape, pair.GradOutput, dx);
        T[] once = layer.WeightGradient.ToArray();
        T[] onceBias = layer.BiasGradient.ToArray();
        var dxAgain = new T[dx.Length];
        layer.Backward(pair.Input, pair.Shape, pair.GradOutput, dxAgain);
        Expect.BitwiseEqual<T>(dx, dxAgain, "gradInput is overwritten, not accumulated");
        for (int c = 0; c < 3; c++)
        {
            Expect.Known(2 * double.CreateChecked(once[c]), layer.WeightGradient[c], $"WeightGradient[{c}] after two Backward calls");
            Expect.Known(2 * double.CreateChecked(onceBias[c]), layer.BiasGradient[c], $"BiasGradient[{c}] after two Backward calls");
        }

        T[] weight = layer.Weight.ToArray();
        T[] runningMean = layer.RunningMean.ToArray();
        long counter = layer.NumBatchesTracked;
        layer.ZeroGrad();
        Expect.BitwiseEqual<T>(Filled(3, 0), layer.WeightGradient, "WeightGradient");
        Expect.BitwiseEqual<T>(Filled(3, 0), layer.BiasGradient, "BiasGradient");
        Expect.BitwiseEqual<T>(weight, layer.Weight, "Weight");
        Expect.BitwiseEqual<T>(runningMean, layer.RunningMean, "RunningMean");
        Assert.Equal(counter, layer.NumBatchesTracked);
    }

    [Theory]
    [InlineData(new[] { 0, 3 })]
    [InlineData(new[] { 0, 3, 4 })]
    [InlineData(new[] { 3, 3, 0 })]
    [InlineData(new[] { 0, 3, 2, 2 })]
    [InlineData(new[] { 2, 3, 0, 2 })]
    [InlineData(new[] { 0, 3, 2, 2, 2 })]
    [InlineData(new[] { 2, 3, 1, 0, 2 })]
    public void EmptyInput_InEvalWithRunningStatistics_GivesEmptyOutput(int[] shape)
    {
        var pair = new TrainedPair<T>(shape.Length, training: false);
        BatchNormBase<T> layer = pair.Layer;
        var before = new LayerSnapshot<T>(layer, ReadOnlySpan<T>.Empty);
        layer.Forward(ReadOnlySpan<T>.Empty, shape, Span<T>.Empty);
        layer.Backward(ReadOnlySpan<T>.Empty, shape, ReadOnlySpan<T>.Empty, Span<T>.Empty);
        before.AssertSame(layer, ReadOnlySpan<T>.Empty, "after an empty eval Forward and Backward");

        // The empty Forward is now the one Backward differentiates.
        var dx = new T[pair.Input.Length];
        Assert.ThrowsAny<ArgumentException>(() => layer.Backward(pair.Input, pair.Shape, pair.GradOutput, dx));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void ZeroEpsilon_ConstantChannel_OutputIsBias(int rank)
    {
        // var + eps = 0: the inverse standard deviation is defined as 0 (as PyTorch), so y = bias, dx = 0.
        BatchNormBase<T> layer = CreateLayer<T>(rank, 2, epsilon: 0);
        layer.Weight[0] = T.CreateChecked(3);
        layer.Weight[1] = T.CreateChecked(2);
        layer.Bias[0] = T.CreateChecked(0.75);
        layer.Bias[1] = T.CreateChecked(-1);
        int[] shape = MakeShape(rank, 4, 2);
        int length = Length(shape);
        int spatial = length / 8;
        T[] x = RandomValues<T>(length, 3, 1, 2);
        T[] dy = RandomValues<T>(length, 4);
        double sumDy0 = 0;
        for (int n = 0; n < 4; n++)
        {
            for (int s = 0; s < spatial; s++)
            {
                x[(2 * n * spatial) + s] = T.CreateChecked(3.5);
                sumDy0 += double.CreateChecked(dy[(2 * n * spatial) + s]);
            }
        }

        var y = new T[length];
        var dx = new T[length];
        layer.Forward(x, shape, y);
        layer.Backward(x, shape, dy, dx);
        double sumY1 = 0;
        for (int n = 0; n < 4; n++)
        {
            for (int s = 0; s < spatial; s++)
            {
                Assert.Equal(T.CreateChecked(0.75), y[(2 * n * spatial) + s]);
                Assert.Equal(0.0, double.CreateChecked(dx[(2 * n * spatial) + s]));
                sumY1 += double.CreateChecked(y[(((2 * n) + 1) * spatial) + s]);
            }
        }

        Expect.Known(-1, T.CreateChecked(sumY1 / (4 * spatial)), "mean of channel 1's output");
        Assert.Equal(0.0, double.CreateChecked(layer.WeightGradient[0]));
        Expect.Known(sumDy0, layer.BiasGradient[0], "BiasGradient[0]");
        Expect.Known(0.35, layer.RunningMean[0], "RunningMean[0]");
        Expect.Known(0.9, layer.RunningVariance[0], "RunningVariance[0]");

        // The same in eval with a running variance of 0.
        layer.RunningMean[0] = T.CreateChecked(3.5);
        layer.RunningVariance[0] = T.Zero;
        layer.Eval();
        layer.Forward(x, shape, y);
        for (int n = 0; n < 4; n++)
        {
            for (int s = 0; s < spatial; s++)
            {
                Assert.Equal(T.CreateChecked(0.75), y[(2 * n * spatial) + s]);
            }
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void MomentumZero_LeavesRunningStatisticsUnchanged_CounterIncrements(int rank)
    {
        BatchNormBase<T> layer = CreateLayer<T>(rank, 3, momentum: 0);
        T[] runningMean = Values<T>(0.3, -1.25, 2);
        T[] runningVariance = Values<T>(2.5, 0.7, 1);
        runningMean.CopyTo(layer.RunningMean);
        runningVariance.CopyTo(layer.RunningVariance);
        int[] shape = MakeShape(rank, 4);
        int length = Length(shape);
        var y = new T[length];
        for (int step = 1; step <= 3; step++)
        {
            layer.Forward(RandomValues<T>(length, step, step, 2), shape, y);
            Assert.Equal(step, layer.NumBatchesTracked);
            Expect.BitwiseEqual<T>(runningMean, layer.RunningMean, "RunningMean");
            Expect.BitwiseEqual<T>(runningVariance, layer.RunningVariance, "RunningVariance");
        }
    }

    [Fact]
    public void MomentumOne_ReplacesRunningStatisticsWithTheBatchs()
    {
        var layer = new BatchNorm1d<T>(3, momentum: 1);
        Values<T>(0.3, -1.25, 2).CopyTo(layer.RunningMean);
        Values<T>(2.5, 0.7, 1).CopyTo(layer.RunningVariance);
        var y = new T[48];
        layer.Forward(SixteenBatch(), SixteenShape, y);
        AssertRunning(layer, [4, 18, 5], [40.0 / 15, 160.0 / 15, 0]);

        layer.Forward(FourBatch(), FourShape, new T[12]);
        AssertRunning(layer, [2.5, 3.5, 4.5], [5.0 / 3, 5.0 / 3, 5.0 / 3]);
        Assert.Equal(2, layer.NumBatchesTracked);
    }

    [Fact]
    public void MomentumNull_IsACumulativeAverageOverNumBatchesTracked()
    {
        var layer = new BatchNorm1d<T>(3, momentum: null);
        Assert.Null(layer.Momentum);
        layer.Forward(SixteenBatch(), SixteenShape, new T[48]);
        AssertRunning(layer, [4, 18, 5], [40.0 / 15, 160.0 / 15, 0]);

        layer.Forward(FourBatch(), FourShape, new T[12]);
        double[] mean = [(4 + 2.5) / 2, (18 + 3.5) / 2, (5 + 4.5) / 2];
        double[] variance = [((40.0 / 15) + (5.0 / 3)) / 2, ((160.0 / 15) + (5.0 / 3)) / 2, (5.0 / 3) / 2];
        AssertRunning(layer, mean, variance);
        Assert.Equal(2, layer.NumBatchesTracked);

        // The factor is 1 / NumBatchesTracked after the increment: 1/10 here.
        layer.NumBatchesTracked = 9;
        layer.Forward(FourBatch(), FourShape, new T[12]);
        Assert.Equal(10, layer.NumBatchesTracked);
        AssertRunning(
            layer,
            [(0.9 * mean[0]) + 0.25, (0.9 * mean[1]) + 0.35, (0.9 * mean[2]) + 0.45],
            [(0.9 * variance[0]) + (0.5 / 3), (0.9 * variance[1]) + (0.5 / 3), (0.9 * variance[2]) + (0.5 / 3)]);
    }

    private static void AssertRunning(BatchNormBase<T> layer, double[] mean, double[] variance)
    {
        for (int c = 0; c < mean.Length; c++)
        {
            Expect.Known(mean[c], layer.RunningMean[c], $"RunningMean[{c}]");
            Expect.Known(variance[c], layer.RunningVariance[c], $"RunningVariance[{c}]");
        }
    }

    /// <summary>The (16, 3) batch described at <see cref="SixteenValues"/>.</summary>
    private static T[] SixteenBatch()
    {
        double[] v = SixteenValues;
        var input = new T[48];
        for (int n = 0; n < 16; n++)
        {
            input[3 * n] = T.CreateChecked(v[n]);
            input[(3 * n) + 1] = T.CreateChecked(10 + (2 * v[n]));
            input[(3 * n) + 2] = T.CreateChecked(5);
        }

        return input;
    }

    /// <summary>A (4, 3) batch whose channel c is 1..4 + c: mean 2.5 + c, biased variance 1.25, unbiased 5/3.</summary>
    private static T[] FourBatch()
    {
        var input = new T[12];
        for (int n = 0; n < 4; n++)
        {
            for (int c = 0; c < 3; c++)
            {
                input[(3 * n) + c] = T.CreateChecked(n + 1 + c);
            }
        }

        return input;
    }

    private static T[] Filled(int length, double value)
    {
        var values = new T[length];
        Array.Fill(values, T.CreateChecked(value));
        return values;
    }
}

public sealed class LayerKnownValueTestsFloat : LayerKnownValueTests<float>
{
}

public sealed class LayerKnownValueTestsDouble : LayerKnownValueTests<double>
{
}
