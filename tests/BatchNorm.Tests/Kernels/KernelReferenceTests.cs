using System;
using System.Numerics;
using Xunit;

namespace BatchNorm.Tests.Kernels;

/// <summary>Every <see cref="BatchNormKernels"/> operation against <see cref="ReferenceBatchNorm"/>.</summary>
public sealed class KernelReferenceTests
{
    /// <summary>The functional API called directly, against the reference, with and without affine parameters.</summary>
    [Theory]
    [InlineData(new[] { 5, 3, 19 }, true)]
    [InlineData(new[] { 5, 3, 19 }, false)]
    [InlineData(new[] { 2, 4, 3, 11 }, true)]
    [InlineData(new[] { 8, 16, 32, 32 }, true)]
    public void Kernels_MatchReference(int[] shape, bool affine)
    {
        RunKernels<float>(shape, affine);
        RunKernels<double>(shape, affine);
    }

    /// <summary>Every kernel against the reference on every path: each shape of every <see cref="ShapeClasses"/> class below the parallel threshold.</summary>
    [Theory]
    [MemberData(nameof(ShapeClasses.SmallShapes), MemberType = typeof(ShapeClasses))]
    public void Kernels_OnEveryPath_MatchReference(string shapeClass, int[] shape)
    {
        Assert.NotNull(shapeClass);
        RunKernels<float>(shape, affine: true);
        RunKernels<double>(shape, affine: true);
    }

    private static void RunKernels<T>(int[] shape, bool affine)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        double tolerance = Tolerances.For<T>();
        var layout = BatchNormLayout.FromShape(shape);
        int length = layout.Length, channels = layout.Channels;
        var reference = new ReferenceBatchNorm(channels, 1e-3, 0.3, affine);
        T[] weight = affine ? TestData.Convert<T>(TestData.Uniform(1, channels, -1, 2)) : [];
        T[] bias = affine ? TestData.Convert<T>(TestData.Uniform(2, channels, -1, 1)) : [];
        TestData.ToDouble<T>(weight).CopyTo(reference.Weight, 0);
        TestData.ToDouble<T>(bias).CopyTo(reference.Bias, 0);
        T[] x = TestData.Gaussian<T>(3, length, mean: -4, std: 3);
        T[] dy = TestData.Gaussian<T>(4, length);
        double[] xd = TestData.ToDouble<T>(x), dyd = TestData.ToDouble<T>(dy);

        // Statistics, training forward, running update.
        double[] expectedY = reference.Forward(xd, shape);
        double[] mean = new double[channels], variance = new double[channels], invStd = new double[channels];
        BatchNormKernels.ComputeStatistics<T>(x, layout, mean, variance);
        Expect.Close<double>(reference.BatchMean, mean, tolerance, "ComputeStatistics mean");
        Expect.Close<double>(reference.BatchVar, variance, tolerance, "ComputeStatistics variance");

        var y = new T[length];
        Array.Clear(mean);
        Array.Clear(variance);
        BatchNormKernels.ForwardTraining<T>(x, y, layout, weight, bias, 1e-3, mean, variance, invStd);
        Expect.Close<T>(expectedY, y, tolerance, "ForwardTraining output");
        Expect.Close<double>(reference.BatchMean, mean, tolerance, "ForwardTraining mean");
        Expect.Close<double>(reference.BatchVar, variance, tolerance, "ForwardTraining variance");
        Expect.Close<double>(Array.ConvertAll(reference.BatchVar, v => ReferenceBatchNorm.InvStd(v, 1e-3)), invStd, tolerance, "ForwardTraining inverse std");

        T[] runningMean = new T[channels], runningVariance = new T[channels];
        runningVariance.AsSpan().Fill(T.One);
        BatchNormKernels.UpdateRunningStatistics<T>(runningMean, runningVariance, mean, variance, layout.ValuesPerChannel, 0.3);
        Expect.Close<T>(reference.RunningMean, runningMean, tolerance, "UpdateRunningStatistics mean");
        Expect.Close<T>(reference.RunningVar, runningVariance, tolerance, "UpdateRunningStatistics variance");

        // Training backward: the parameter gradients are added to what is there.
        double[] expectedDx = reference.Backward(xd, shape, dyd);
        var dx = new T[length];
        T[] weightGradient = affine ? TestData.Convert<T>(reference.WeightGrad) : [];
        T[] biasGradient = affine ? TestData.Convert<T>(reference.BiasGrad) : [];
        Expect.Close<T>(reference.WeightGrad, weightGradient, tolerance, "weight gradient before");
        weightGradient.AsSpan().Fill(T.CreateTruncating(0.25));
        biasGradient.AsSpan().Fill(T.CreateTruncating(-0.5));
        BatchNormKernels.BackwardTraining<T>(x, dy, dx, layout, weight, mean, invStd, weightGradient, biasGradient);
        Expect.Close<T>(expectedDx, dx, tolerance, "BackwardTraining gradInput");
        Expect.Close<T>(Array.ConvertAll(reference.WeightGrad, g => g + 0.25), weightGradient, tolerance, "BackwardTraining weight gradient");
        Expect.Close<T>(Array.ConvertAll(reference.BiasGrad, g => g - 0.5), biasGradient, tolerance, "BackwardTraining bias gradient");

        // Inference forward and backward with the running statistics just computed.
        reference.Training = false;
        reference.ZeroGrad();
        TestData.ToDouble<T>(runningMean).CopyTo(reference.RunningMean, 0);
        TestData.ToDouble<T>(runningVariance).CopyTo(reference.RunningVar, 0);
        expectedY = reference.Forward(xd, shape);
        BatchNormKernels.ForwardInference<T>(x, y, layout, weight, bias, runningMean, runningVariance, 1e-3);
        Expect.Close<T>(expectedY, y, tolerance, "ForwardInference output");

        expectedDx = reference.Backward(xd, shape, dyd);
        weightGradient.AsSpan().Clear();
        biasGradient.AsSpan().Clear();
        BatchNormKernels.BackwardInference<T>(x, dy, dx, layout, weight, runningMean, runningVariance, 1e-3, weightGradient, biasGradient);
        Expect.Close<T>(expectedDx, dx, tolerance, "BackwardInference gradInput");
        Expect.Close<T>(reference.WeightGrad, weightGradient, tolerance, "BackwardInference weight gradient");
        Expect.Close<T>(reference.BiasGrad, biasGradient, tolerance, "BackwardInference bias gradient");
    }
}
