using System;
using System.Numerics;
using Xunit;

namespace BatchNorm.Tests;

/// <summary>
/// A library layer and a <see cref="ReferenceBatchNorm"/> driven in lockstep, compared after each call. Data go in and
/// come out channels-first; with <see cref="BatchNormMemoryFormat.ChannelsLast"/> the layer is given (and gives back)
/// the same logical tensors in channels-last memory.
/// </summary>
public sealed class LayerPair<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public LayerPair(
        int[] shape, double epsilon = 1e-5, double? momentum = 0.1, bool affine = true, bool track = true,
        BatchNormMemoryFormat format = BatchNormMemoryFormat.ChannelsFirst)
    {
        Shape = shape;
        Layer = TestData.CreateLayer<T>(shape.Length, shape[1], epsilon, momentum, affine, track);
        Layer.MemoryFormat = format;
        Reference = new ReferenceBatchNorm(shape[1], epsilon, momentum, affine, track);
    }

    private bool ChannelsLast => Layer.MemoryFormat == BatchNormMemoryFormat.ChannelsLast;

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
        if (ChannelsLast)
        {
            var permuted = new T[output.Length];
            Layer.Forward(TestData.Permute<T>(input, Shape, toChannelsLast: true), Shape, permuted);
            TestData.Permute<T>(permuted, Shape, toChannelsLast: false).CopyTo(output);
        }
        else
        {
            Layer.Forward(input, Shape, output);
        }

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
        if (ChannelsLast)
        {
            var permuted = new T[gradInput.Length];
            Layer.Backward(TestData.Permute<T>(input, Shape, true), Shape, TestData.Permute<T>(gradOutput, Shape, true), permuted);
            TestData.Permute<T>(permuted, Shape, toChannelsLast: false).CopyTo(gradInput);
        }
        else
        {
            Layer.Backward(input, Shape, gradOutput, gradInput);
        }

        Expect.Close<T>(expected, gradInput, Tolerance, "gradInput", ScaledComparison<T>.GradInputScale(Reference, gradOutput));
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
