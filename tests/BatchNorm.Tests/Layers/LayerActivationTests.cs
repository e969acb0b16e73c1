using System;
using System.Numerics;
using Xunit;

namespace BatchNorm.Tests.Layers;

/// <summary>
/// The fused activation (<see cref="BatchNormBase{T}.Activation"/>, <see cref="BatchNormBase{T}.ForwardWithResidual"/>):
/// bit for bit the plain layer followed by <c>relu(y + residual)</c> in <typeparamref name="T"/>, and its backward bit
/// for bit the plain layer's backward of the masked gradient, on every path of the engine (column, row blocks, runs,
/// fused runs, channels-last) in training, evaluation and with frozen statistics.
/// </summary>
public abstract class LayerActivationTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public enum Mode
    {
        Training,
        Evaluation,
        Frozen,
    }

    public static TheoryData<int[], BatchNormMemoryFormat, bool, Mode> Cases
    {
        get
        {
            var data = new TheoryData<int[], BatchNormMemoryFormat, bool, Mode>();
            int[][] shapes = [[6, 5], [300, 20], [4, 3, 7], [2, 70, 3, 3], [3, 4, 5, 6], [2, 3, 1100], [2, 2, 72, 72]];
            foreach (int[] shape in shapes)
            {
                foreach (bool residual in new[] { false, true })
                {
                    data.Add(shape, BatchNormMemoryFormat.ChannelsFirst, residual, Mode.Training);
                }
            }

            data.Add([3, 4, 5, 6], BatchNormMemoryFormat.ChannelsFirst, true, Mode.Evaluation);
            data.Add([2, 3, 1100], BatchNormMemoryFormat.ChannelsFirst, false, Mode.Evaluation);
            data.Add([2, 70, 3, 3], BatchNormMemoryFormat.ChannelsFirst, true, Mode.Frozen);
            data.Add([2, 2, 72, 72], BatchNormMemoryFormat.ChannelsFirst, false, Mode.Frozen);
            data.Add([2, 70, 3, 3], BatchNormMemoryFormat.ChannelsLast, true, Mode.Training);
            data.Add([4, 64, 9, 9], BatchNormMemoryFormat.ChannelsLast, false, Mode.Training);
            data.Add([2, 5, 4, 3, 2], BatchNormMemoryFormat.ChannelsLast, true, Mode.Evaluation);

            // Rows wider than a reduction in row blocks takes: each chunk of channels reduces its own columns.
            data.Add([4, 1000, 9], BatchNormMemoryFormat.ChannelsFirst, true, Mode.Training);
            data.Add([8, 8500], BatchNormMemoryFormat.ChannelsFirst, false, Mode.Frozen);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TheFusedLayer_IsThePlainLayerThenTheActivation_BitForBit(int[] shape, BatchNormMemoryFormat format, bool withResidual, Mode mode)
    {
        BatchNormBase<T> fused = Layer(shape, format, mode), plain = Layer(shape, format, mode);
        fused.Activation = BatchNormActivation.Relu;
        int length = TestData.Length(shape);
        for (int step = 0; step < 2; step++)
        {
            T[] x = TestData.Gaussian<T>(10 + step, length, 0.5, 2), dy = TestData.Gaussian<T>(20 + step, length);
            T[] residual = withResidual ? TestData.Gaussian<T>(30 + step, length, -0.3) : new T[length];
            T[] y = new T[length], dx = new T[length], dResidual = new T[length];
            Run(fused, x, residual, withResidual, shape, y);

            T[] plainY = new T[length], pre = new T[length], dz = new T[length], plainDx = new T[length];
            plain.Forward(x, shape, plainY);
            for (int i = 0; i < length; i++)
            {
                pre[i] = plainY[i] + residual[i];
                dz[i] = pre[i] <= T.Zero ? T.Zero : dy[i];
            }

            Expect.BitwiseEqual<T>(Relu(pre), y, $"output, step {step}");
            Expect.BitwiseEqual<T>(plain.RunningMean, fused.RunningMean, $"running mean, step {step}");
            Expect.BitwiseEqual<T>(plain.RunningVariance, fused.RunningVariance, $"running variance, step {step}");

            if (withResidual)
            {
                fused.BackwardWithResidual(x, residual, shape, dy, dx, dResidual);
                Expect.BitwiseEqual<T>(dz, dResidual, $"residual gradient, step {step}");
            }
            else
            {
                fused.Backward(x, shape, dy, dx);
            }

            plain.Backward(x, shape, dz, plainDx);
            Expect.BitwiseEqual<T>(plainDx, dx, $"input gradient, step {step}");
            Expect.BitwiseEqual<T>(plain.WeightGradient, fused.WeightGradient, $"weight gradient, step {step}");
            Expect.BitwiseEqual<T>(plain.BiasGradient, fused.BiasGradient, $"bias gradient, step {step}");
        }
    }

    [Theory]
    [InlineData(new[] { 300, 20 })]
    [InlineData(new[] { 4, 3, 7 })]
    [InlineData(new[] { 2, 3, 1100 })]
    [InlineData(new[] { 2, 2, 72, 72 })]
    [InlineData(new[] { 4, 1000, 9 })]
    public void SixteenBitData_AreTheWidenedLayersResultsRoundedOnce(int[] shape)
    {
        SixteenBitTwins<Half>(shape);
        SixteenBitTwins<BFloat16>(shape);
    }

    [Theory]
    [InlineData(new[] { 64, 6 })]
    [InlineData(new[] { 2, 3, 1100 })]
    public void AnEvaluationBackwardWithoutParameters_IsThePlainOneOfTheMaskedGradient(int[] shape)
    {
        // No parameter gradients and no batch statistics: no sums, so the mask takes a pass of its own.
        BatchNormBase<T> fused = TestData.CreateLayer<T>(shape.Length, shape[1], affine: false), plain = TestData.CreateLayer<T>(shape.Length, shape[1], affine: false);
        fused.Activation = BatchNormActivation.Relu;
        fused.Eval();
        plain.Eval();
        int length = TestData.Length(shape);
        T[] x = TestData.Gaussian<T>(1, length, 0.2), dy = TestData.Gaussian<T>(2, length), y = new T[length], dx = new T[length], dz = new T[length], plainDx = new T[length];
        fused.Forward(x, shape, y);
        plain.Forward(x, shape, dz);
        for (int i = 0; i < length; i++)
        {
            dz[i] = dz[i] <= T.Zero ? T.Zero : dy[i];
        }

        fused.Backward(x, shape, dy, dx);
        plain.Backward(x, shape, dz, plainDx);
        Expect.BitwiseEqual<T>(plainDx, dx, "input gradient");
    }

    [Fact]
    public void KnownValues_WorkedByHand()
    {
        // x = 1, 1, 3, 3: mean 2, variance 1 (epsilon 0), x̂ = -1, -1, 1, 1; relu(x̂) = 0, 0, 1, 1. dy = 1, 2, 3, 4 masks to
        // dz = 0, 0, 3, 4: mean(dz) = 7/4, mean(dz·x̂) = 7/4, dx = dz - 7/4 - x̂·7/4 = 0, 0, -1/2, 1/2; Σdz·x̂ = Σdz = 7.
        var layer = new BatchNorm1d<T>(1, epsilon: 0) { Activation = BatchNormActivation.Relu };
        T[] x = TestData.Values<T>(1, 1, 3, 3), y = new T[4], dx = new T[4], dResidual = new T[4];
        layer.Forward(x, [4, 1], y);
        Expect.Close<T>([0, 0, 1, 1], y, 0, "y");
        layer.Backward(x, [4, 1], TestData.Values<T>(1, 2, 3, 4), dx);
        Expect.Close<T>([0, 0, -0.5, 0.5], dx, 1e-6, "dx");
        Expect.Known(7, layer.WeightGradient[0], "weight gradient");
        Expect.Known(7, layer.BiasGradient[0], "bias gradient");

        // Residual 0.5, 2, -2, 0: x̂ + residual = -0.5, 1, -1, 1 → y = 0, 1, 0, 1 and dz = 0, 2, 0, 4: mean(dz) = 3/2,
        // mean(dz·x̂) = 1/2, dx = dz - 3/2 - x̂/2 = -1, 1, -2, 2; Σdz·x̂ = 2, Σdz = 6 (added to the 7 above).
        layer.ForwardWithResidual(x, TestData.Values<T>(0.5, 2, -2, 0), [4, 1], y);
        Expect.Close<T>([0, 1, 0, 1], y, 0, "y with the residual");
        layer.BackwardWithResidual(x, TestData.Values<T>(0.5, 2, -2, 0), [4, 1], TestData.Values<T>(1, 2, 3, 4), dx, dResidual);
        Expect.Close<T>([-1, 1, -2, 2], dx, 1e-6, "dx with the residual");
        Expect.Close<T>([0, 2, 0, 4], dResidual, 0, "residual gradient");
        Expect.Known(9, layer.WeightGradient[0], "weight gradient, accumulated");
        Expect.Known(13, layer.BiasGradient[0], "bias gradient, accumulated");
    }

    [Fact]
    public void TheBackward_DifferentiatesWhatItsForwardComputed_WhateverActivationSaysBy()
    {
        int[] shape = [6, 4, 5];
        BatchNormBase<T> changed = Layer(shape, BatchNormMemoryFormat.ChannelsFirst, Mode.Training), kept = Layer(shape, BatchNormMemoryFormat.ChannelsFirst, Mode.Training);
        changed.Activation = kept.Activation = BatchNormActivation.Relu;
        T[] x = TestData.Gaussian<T>(1, 120), dy = TestData.Gaussian<T>(2, 120), y = new T[120], dx1 = new T[120], dx2 = new T[120];
        changed.Forward(x, shape, y);
        kept.Forward(x, shape, y);
        changed.Activation = BatchNormActivation.None;
        changed.Backward(x, shape, dy, dx1);
        kept.Backward(x, shape, dy, dx2);
        Expect.BitwiseEqual<T>(dx2, dx1, "input gradient");
    }

    [Fact]
    public void NaN_PropagatesForward_AndPassesTheGradient_AsPyTorch()
    {
        // relu(NaN) is NaN, and threshold_backward passes dy where the value is not <= 0.
        var layer = new BatchNorm1d<T>(2) { Activation = BatchNormActivation.Relu };
        layer.Eval();
        T[] x = TestData.Values<T>(0, -1, 2, 3);
        x[0] = T.NaN;
        T[] y = new T[4], dx = new T[4];
        layer.Forward(x, [2, 2], y);
        Assert.True(T.IsNaN(y[0]), "relu(NaN)");
        Expect.Close<T>([0], y.AsSpan(1, 1), 0, "relu(-1)");
        layer.Backward(x, [2, 2], TestData.Values<T>(5, 6, 7, 8), dx);
        Assert.True(dx[0] != T.Zero && dx[1] == T.Zero, $"dx: {dx[0]}, {dx[1]}");
    }

    [Fact]
    public void Gradients_MatchCentralDifferences()
    {
        // The output against the double reference; the loss Σ g·relu(BN(x) + residual) in training: central differences
        // in x, the residual and the weight.
        int[] shape = [5, 3, 4];
        int length = TestData.Length(shape);
        var layer = new BatchNorm1d<double>(3) { Activation = BatchNormActivation.Relu };
        double[] weight = TestData.Uniform(3, 3, 0.5, 2), bias = TestData.Uniform(4, 3, -0.5, 0.5);
        weight.CopyTo(layer.Weight);
        bias.CopyTo(layer.Bias);
        double[] x = TestData.Gaussian(7, length, 1, 1.5), residual = TestData.Gaussian(8, length), g = TestData.Gaussian(9, length);
        double[] y = new double[length], dx = new double[length], dResidual = new double[length];
        layer.ForwardWithResidual(x, residual, shape, y);
        layer.BackwardWithResidual(x, residual, shape, g, dx, dResidual);
        var reference = new ReferenceBatchNorm(3);
        weight.CopyTo(reference.Weight, 0);
        bias.CopyTo(reference.Bias, 0);
        double[] expected = reference.Forward(x, shape);
        for (int i = 0; i < length; i++)
        {
            expected[i] = Math.Max(expected[i] + residual[i], 0);
        }

        Expect.Close<double>(expected, y, Tolerances.For<double>(), "output against the double reference");

        const double h = 1e-6;
        for (int i = 0; i < length; i++)
        {
            ExpectDerivative(dx[i], Loss(Nudged(x, i, h), residual, weight) - Loss(Nudged(x, i, -h), residual, weight), h, $"dx[{i}]");
            ExpectDerivative(dResidual[i], Loss(x, Nudged(residual, i, h), weight) - Loss(x, Nudged(residual, i, -h), weight), h, $"dResidual[{i}]");
        }

        for (int c = 0; c < 3; c++)
        {
            ExpectDerivative(layer.WeightGradient[c], Loss(x, residual, Nudged(weight, c, h)) - Loss(x, residual, Nudged(weight, c, -h)), h, $"weight gradient[{c}]");
        }

        double Loss(double[] input, double[] r, double[] w)
        {
            var reference = new ReferenceBatchNorm(3);
            w.CopyTo(reference.Weight, 0);
            bias.CopyTo(reference.Bias, 0);
            double[] y = reference.Forward(input, shape), loss = new double[1];
            for (int i = 0; i < y.Length; i++)
            {
                loss[0] += g[i] * Math.Max(y[i] + r[i], 0);
            }

            return loss[0];
        }
    }

    private static void SixteenBitTwins<TData>(int[] shape)
        where TData : unmanaged
    {
        BatchNormBase<T> layer = Layer(shape, BatchNormMemoryFormat.ChannelsFirst, Mode.Training), twin = Layer(shape, BatchNormMemoryFormat.ChannelsFirst, Mode.Training);
        layer.Activation = twin.Activation = BatchNormActivation.Relu;
        int length = TestData.Length(shape);
        TData[] x = SixteenBit.Random<TData>(1, length, 0.5, 2), dy = SixteenBit.Random<TData>(2, length), y = new TData[length], dx = new TData[length];
        T[] wideX = SixteenBit.Widen<TData, T>(x), wideY = new T[length], wideDx = new T[length];
        SixteenBit.Forward(layer, x, shape, y);
        twin.Forward(wideX, shape, wideY);
        Expect.BitwiseEqual<TData>(SixteenBit.Narrow<T, TData>(wideY), y, $"{typeof(TData).Name} output");
        SixteenBit.Backward(layer, x, shape, dy, dx);
        twin.Backward(wideX, shape, SixteenBit.Widen<TData, T>(dy), wideDx);
        Expect.BitwiseEqual<TData>(SixteenBit.Narrow<T, TData>(wideDx), dx, $"{typeof(TData).Name} input gradient");
        Expect.BitwiseEqual<T>(twin.WeightGradient, layer.WeightGradient, $"{typeof(TData).Name} weight gradient");
    }

    private static double[] Nudged(double[] values, int i, double h)
    {
        double[] copy = (double[])values.Clone();
        copy[i] += h;
        return copy;
    }

    private static void ExpectDerivative(double analytic, double difference, double h, string what)
    {
        double numeric = difference / (2 * h);
        Assert.True(Math.Abs(numeric - analytic) <= 1e-5 * Math.Max(1, Math.Abs(numeric)), $"{what}: numeric {numeric:R}, analytic {analytic:R}");
    }

    private static BatchNormBase<T> Layer(int[] shape, BatchNormMemoryFormat format, Mode mode)
    {
        BatchNormBase<T> layer = TestData.CreateLayer<T>(shape.Length, shape[1]);
        layer.MemoryFormat = format;
        TestData.Convert<T>(TestData.Uniform(1, shape[1], 0.5, 2)).CopyTo(layer.Weight);
        TestData.Convert<T>(TestData.Uniform(2, shape[1], -0.5, 0.5)).CopyTo(layer.Bias);
        TestData.Convert<T>(TestData.Uniform(3, shape[1], 0, 1)).CopyTo(layer.RunningMean);
        TestData.Convert<T>(TestData.Uniform(4, shape[1], 0.5, 3)).CopyTo(layer.RunningVariance);
        layer.Train(mode != Mode.Evaluation);
        layer.FrozenStatistics = mode == Mode.Frozen;
        return layer;
    }

    private static void Run(BatchNormBase<T> layer, T[] x, T[] residual, bool withResidual, int[] shape, T[] y)
    {
        if (withResidual)
        {
            layer.ForwardWithResidual(x, residual, shape, y);
        }
        else
        {
            layer.Forward(x, shape, y);
        }
    }

    private static T[] Relu(T[] pre) => Array.ConvertAll(pre, v => v <= T.Zero ? T.Zero : v);
}

public sealed class LayerActivationTestsFloat : LayerActivationTests<float>;

public sealed class LayerActivationTestsDouble : LayerActivationTests<double>;
