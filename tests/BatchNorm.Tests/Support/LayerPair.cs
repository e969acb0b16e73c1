using System;
using System.Numerics;
using Xunit;

namespace BatchNorm.Tests;

/// <summary>A library layer and a <see cref="ReferenceBatchNorm"/> driven in lockstep, compared after each call.</summary>
public sealed class LayerPair<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public LayerPair(int[] shape, double epsilon = 1e-5, double? momentum = 0.1, bool affine = true, bool track = true)
    {
        Shape = shape;
        Layer = TestData.CreateLayer<T>(shape.Length, shape[1], epsilon, momentum, affine, track);
        Reference = new ReferenceBatchNorm(shape[1], epsilon, momentum, affine, track);
    }

    public int[] Shape { get; }

    public int Length => TestData.Length(Shape);

    public BatchNormBase<T> Layer { get; }

    public ReferenceBatchNorm Reference { get; }

    public double Tolerance { get; set; } = Tolerances.For<T>();

    /// <summary>Gives both sides the same random weight (some negative) and bias, when affine.</summary>
    public void RandomizeParameters(int seed)
    {
        T[] weight = TestData.Convert<T>(TestData.Uniform(seed, Layer.Weight.Length, -0.5, 2.0));
        T[] bias = TestData.Convert<T>(TestData.Uniform(seed + 1, Layer.Bias.Length, -1.0, 1.0));
        SetWeight(weight);
        bias.CopyTo(Layer.Bias);
        TestData.ToDouble<T>(bias).CopyTo(Reference.Bias, 0);
    }

    public void SetWeight(ReadOnlySpan<T> weight)
    {
        weight.CopyTo(Layer.Weight);
        TestData.ToDouble(weight).CopyTo(Reference.Weight, 0);
    }

    public void SetNumBatchesTracked(long count)
    {
        Layer.NumBatchesTracked = count;
        Reference.NumBatchesTracked = count;
    }

    public void Train(bool training)
    {
        Layer.Train(training);
        Reference.Training = training;
    }

    /// <summary>Runs both forwards (the reference first: <paramref name="output"/> may be <paramref name="input"/>) and compares output and running statistics.</summary>
    public void Forward(ReadOnlySpan<T> input, Span<T> output)
    {
        double[] expected = Reference.Forward(TestData.ToDouble(input), Shape);
        Layer.Forward(input, Shape, output);
        Expect.Close<T>(expected, output, Tolerance, "output");
        AssertRunningStatistics();
    }

    public T[] Forward(T[] input)
    {
        var output = new T[input.Length];
        Forward(input, output);
        return output;
    }

    /// <summary>Runs both backwards and compares the input gradient and the (accumulated) parameter gradients.</summary>
    public void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> gradOutput, Span<T> gradInput)
    {
        double[] expected = Reference.Backward(TestData.ToDouble(input), Shape, TestData.ToDouble(gradOutput));
        Layer.Backward(input, Shape, gradOutput, gradInput);
        // dx = w * invstd * (dy - ...) cancels (exactly, for M = 2): its rounding scales with w * invstd * dy.
        double maxFactor = 0, maxGradOutput = 0;
        for (int c = 0; c < Reference.NumFeatures; c++)
        {
            maxFactor = Math.Max(maxFactor, Math.Abs((Reference.Affine ? Reference.Weight[c] : 1) * Reference.UsedInvStd[c]));
        }

        foreach (T g in gradOutput)
        {
            maxGradOutput = Math.Max(maxGradOutput, Math.Abs(double.CreateTruncating(g)));
        }

        Expect.Close<T>(expected, gradInput, Tolerance, "gradInput", maxFactor * maxGradOutput);
        AssertParameterGradients();
    }

    public T[] Backward(T[] input, T[] gradOutput)
    {
        var gradInput = new T[input.Length];
        Backward(input, gradOutput, gradInput);
        return gradInput;
    }

    public void AssertRunningStatistics()
    {
        Assert.Equal(Reference.NumBatchesTracked, Layer.NumBatchesTracked);
        Expect.Close<T>(Reference.RunningMean, Layer.RunningMean, Tolerance, "running mean");
        Expect.Close<T>(Reference.RunningVar, Layer.RunningVariance, Tolerance, "running variance");
    }

    public void AssertParameterGradients()
    {
        Expect.Close<T>(Reference.WeightGrad, Layer.WeightGradient, Tolerance, "weight gradient");
        Expect.Close<T>(Reference.BiasGrad, Layer.BiasGradient, Tolerance, "bias gradient");
    }
}
