using System;
using System.IO;
using System.Numerics;
using BatchNorm.Inference;
using BatchNorm.Serialization;
using Xunit;

namespace BatchNorm.Tests.Layers;

/// <summary>
/// Separate weight and bias switches (Keras's <c>scale</c> and <c>center</c>): a layer with one of them computes as the
/// double reference with the other at 1 or 0, differentiates only what it has, checkpoints exactly the keys it has and
/// refuses the others, and folds into the evaluation forward.
/// </summary>
public abstract class LayerParameterSwitchTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void OneParameter_ComputesAsTheReference_WithTheOtherAtItsIdentity(bool hasWeight, bool hasBias)
    {
        int[] shape = [5, 3, 4];
        var layer = new BatchNorm1d<T>(3, 1e-5, 0.1, hasWeight, hasBias, trackRunningStatistics: true);
        Assert.Equal((hasWeight, hasBias, false), (layer.HasWeight, layer.HasBias, layer.Affine));
        Assert.Equal((hasWeight ? 3 : 0, hasBias ? 3 : 0), (layer.Weight.Length, layer.Bias.Length));
        Assert.Equal((layer.Weight.Length, layer.Bias.Length), (layer.WeightGradient.Length, layer.BiasGradient.Length));
        var reference = new ReferenceBatchNorm(3);
        if (hasWeight)
        {
            T[] weight = TestData.Values<T>(0.5, 2, -1);
            weight.CopyTo(layer.Weight);
            TestData.ToDouble<T>(weight).CopyTo(reference.Weight, 0);
        }

        if (hasBias)
        {
            T[] bias = TestData.Values<T>(1, -2, 0.25);
            bias.CopyTo(layer.Bias);
            TestData.ToDouble<T>(bias).CopyTo(reference.Bias, 0);
        }

        T[] x = TestData.Gaussian<T>(1, 60, 2, 3), dy = TestData.Gaussian<T>(2, 60), y = new T[60], dx = new T[60];
        layer.Forward(x, shape, y);
        layer.Backward(x, shape, dy, dx);
        double[] wideX = TestData.ToDouble<T>(x);
        Expect.Close<T>(reference.Forward(wideX, shape), y, Tolerances.For<T>(), "output");
        Expect.Close<T>(reference.Backward(wideX, shape, TestData.ToDouble<T>(dy)), dx, Tolerances.For<T>(), "gradInput", 1);
        if (hasWeight)
        {
            Expect.Close<T>(reference.WeightGrad, layer.WeightGradient, Tolerances.For<T>(), "weight gradient", Math.Sqrt(60));
        }
        else
        {
            Expect.Close<T>(reference.BiasGrad, layer.BiasGradient, Tolerances.For<T>(), "bias gradient", Math.Sqrt(60));
        }
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void SynchronizedAndRenormalizedBackwards_AddEachGradientTheLayerHas(bool hasWeight, bool hasBias)
    {
        int[] shape = [4, 3];
        T[] x = TestData.Gaussian<T>(5, 12, 1, 2), dy = TestData.Gaussian<T>(6, 12);
        var plain = new BatchNorm1d<T>(3, 1e-5, 0.1, hasWeight, hasBias, trackRunningStatistics: true);
        var renormalized = new BatchNorm1d<T>(3, 1e-5, 0.1, hasWeight, hasBias, trackRunningStatistics: true) { Renormalization = new BatchRenormalization() };
        using var group = new BatchNorm.Distributed.InProcessCommunicatorGroup(1);
        var synchronized = new BatchNorm1d<T>(3, 1e-5, 0.1, hasWeight, hasBias, trackRunningStatistics: true) { Communicator = group.Communicators[0] };
        foreach (BatchNormBase<T> layer in new BatchNormBase<T>[] { plain, renormalized, synchronized })
        {
            layer.Forward(x, shape, new T[12]);
            layer.Backward(x, shape, dy, new T[12]);
        }

        foreach (BatchNormBase<T> layer in new BatchNormBase<T>[] { renormalized, synchronized })
        {
            Expect.Close<T>(TestData.ToDouble<T>(plain.WeightGradient), layer.WeightGradient, Tolerances.For<T>(), "weight gradient", 1);
            Expect.Close<T>(TestData.ToDouble<T>(plain.BiasGradient), layer.BiasGradient, Tolerances.For<T>(), "bias gradient", 1);
        }
    }

    [Fact]
    public void Checkpoints_HoldExactlyTheParametersALayerHas()
    {
        var weightOnly = new BatchNorm2d<T>(4, 1e-5, 0.1, hasWeight: true, hasBias: false, trackRunningStatistics: true);
        TestData.Values<T>(1, 2, 3, 4).CopyTo(weightOnly.Weight);
        byte[] file = SafeTensors.Save(weightOnly, "bn.");
        var reader = new SafeTensorsReader(file);
        Assert.True(reader.TryGetTensor("bn.weight", out _));
        Assert.False(reader.TryGetTensor("bn.bias", out _));

        var copy = new BatchNorm2d<T>(4, 1e-5, 0.1, hasWeight: true, hasBias: false, trackRunningStatistics: true);
        SafeTensors.Load(copy, file, "bn.");
        Expect.BitwiseEqual<T>(weightOnly.Weight, copy.Weight, "weight");

        var biasOnly = new BatchNorm2d<T>(4, 1e-5, 0.1, hasWeight: false, hasBias: true, trackRunningStatistics: true);
        var error = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(biasOnly, file, "bn."));
        Assert.Contains("bn.weight", error.Message);
        Assert.Contains("has no such parameter", error.Message);
        Assert.Throws<InvalidDataException>(() => SafeTensors.Load(weightOnly, SafeTensors.Save(new BatchNorm2d<T>(4), "bn."), "bn."));
    }

    [Fact]
    public void Folding_ABiasOnlyLayer_IsItsEvaluationForward()
    {
        var layer = new BatchNorm1d<T>(3, 1e-5, 0.1, hasWeight: false, hasBias: true, trackRunningStatistics: true);
        TestData.Values<T>(1, -2, 0.5).CopyTo(layer.Bias);
        TestData.Values<T>(0.5, 1, -1).CopyTo(layer.RunningMean);
        TestData.Values<T>(2, 0.5, 4).CopyTo(layer.RunningVariance);
        layer.Eval();
        T[] scale = new T[3], shift = new T[3], x = TestData.Gaussian<T>(3, 12), y = new T[12];
        BatchNormFolding.ToAffine(layer, scale, shift);
        layer.Forward(x, [4, 3], y);
        var folded = new double[12];
        for (int i = 0; i < 12; i++)
        {
            folded[i] = (double.CreateTruncating(x[i]) * double.CreateTruncating(scale[i % 3])) + double.CreateTruncating(shift[i % 3]);
        }

        Expect.Close<T>(folded, y, Tolerances.For<T>(), "folded against the evaluation forward");
    }
}

public sealed class LayerParameterSwitchTestsFloat : LayerParameterSwitchTests<float>;

public sealed class LayerParameterSwitchTestsDouble : LayerParameterSwitchTests<double>;
