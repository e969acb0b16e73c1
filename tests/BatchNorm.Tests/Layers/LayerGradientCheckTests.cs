using System;
using Xunit;

namespace BatchNorm.Tests.Layers;

/// <summary>
/// The layer's Backward (double) against central differences of the scalar loss <c>L = Σ y * r</c> (so dL/dy = r),
/// for the input, weight and bias. Every loss evaluation uses a fresh layer in the same state, so running-statistics
/// updates of a training forward do not leak into the next evaluation.
/// </summary>
public sealed class LayerGradientCheckTests
{
    public enum Mode
    {
        /// <summary>Training with running statistics tracked (batch statistics, running statistics updated).</summary>
        Train,

        /// <summary>Training without running statistics.</summary>
        TrainUntracked,

        /// <summary>Evaluation after three training steps: non-trivial running statistics are constants.</summary>
        Eval,

        /// <summary>Evaluation without running statistics: batch statistics, as in training.</summary>
        EvalUntracked,
    }

    [Theory]
    [InlineData(new[] { 6, 3 }, Mode.Train, true)]
    [InlineData(new[] { 4, 3, 5 }, Mode.Train, true)]
    [InlineData(new[] { 4, 3, 5 }, Mode.Train, false)]
    [InlineData(new[] { 4, 3, 5 }, Mode.TrainUntracked, true)]
    [InlineData(new[] { 4, 3, 5 }, Mode.Eval, true)]
    [InlineData(new[] { 4, 3, 5 }, Mode.Eval, false)]
    [InlineData(new[] { 4, 3, 5 }, Mode.EvalUntracked, true)]
    [InlineData(new[] { 2, 2, 3, 3 }, Mode.Train, true)]
    [InlineData(new[] { 2, 2, 3, 3 }, Mode.Eval, true)]
    [InlineData(new[] { 2, 2, 2, 1, 3 }, Mode.Train, true)]
    [InlineData(new[] { 2, 2, 2, 1, 3 }, Mode.EvalUntracked, false)]
    [InlineData(new[] { 2, 1 }, Mode.Train, true)]
    [InlineData(new[] { 3, 1, 17 }, Mode.Eval, true)]
    public void Backward_MatchesCentralDifferences(int[] shape, Mode mode, bool affine)
    {
        int length = TestData.Length(shape), channels = shape[1];
        bool track = mode is Mode.Train or Mode.Eval;
        bool training = mode is Mode.Train or Mode.TrainUntracked;
        double[] x = TestData.Gaussian(1, length, mean: 0.7, std: 1.9);
        double[] r = TestData.Gaussian(2, length);
        double[] weight = affine ? TestData.Uniform(3, channels, -1.5, 2.0) : [];
        double[] bias = affine ? TestData.Uniform(4, channels, -1.0, 1.0) : [];

        // Running statistics from three real training steps.
        BatchNormBase<double> trained = TestData.CreateLayer<double>(shape.Length, channels, momentum: 0.3, affine: affine, trackRunningStatistics: track);
        for (int step = 0; step < 3; step++)
        {
            trained.Forward(TestData.Gaussian(10 + step, length, mean: 1 - step, std: 1 + step), shape, new double[length]);
        }

        BatchNormBase<double> Fresh()
        {
            BatchNormBase<double> layer = TestData.CreateLayer<double>(shape.Length, channels, momentum: 0.3, affine: affine, trackRunningStatistics: track);
            weight.CopyTo(layer.Weight);
            bias.CopyTo(layer.Bias);
            trained.RunningMean.CopyTo(layer.RunningMean);
            trained.RunningVariance.CopyTo(layer.RunningVariance);
            layer.NumBatchesTracked = trained.NumBatchesTracked;
            layer.Train(training);
            return layer;
        }

        double Loss()
        {
            var y = new double[length];
            Fresh().Forward(x, shape, y);
            double loss = 0;
            for (int i = 0; i < length; i++)
            {
                loss += y[i] * r[i];
            }

            return loss;
        }

        BatchNormBase<double> analytic = Fresh();
        analytic.Forward(x, shape, new double[length]);
        var dx = new double[length];
        analytic.Backward(x, shape, r, dx);

        // The gradients are on the scale of dL/dy = r (dx for M = 2 cancels to almost 0, below the differences' noise).
        double scale = 0;
        foreach (double v in r)
        {
            scale = Math.Max(scale, Math.Abs(v));
        }

        Expect.Close<double>(CentralDifferences(x, Loss), dx, Tolerances.FiniteDifference, "gradInput", scale);
        Expect.Close<double>(CentralDifferences(weight, Loss), analytic.WeightGradient, Tolerances.FiniteDifference, "weight gradient", scale);
        Expect.Close<double>(CentralDifferences(bias, Loss), analytic.BiasGradient, Tolerances.FiniteDifference, "bias gradient", scale);
    }

    /// <summary>(L(v + h e_i) - L(v - h e_i)) / 2h for each i, perturbing <paramref name="values"/> in place.</summary>
    private static double[] CentralDifferences(double[] values, Func<double> loss)
    {
        var gradient = new double[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            double saved = values[i];
            values[i] = saved + Tolerances.FiniteDifferenceStep;
            double plus = loss();
            values[i] = saved - Tolerances.FiniteDifferenceStep;
            double minus = loss();
            values[i] = saved;
            gradient[i] = (plus - minus) / (2 * Tolerances.FiniteDifferenceStep);
        }

        return gradient;
    }
}
