using System;
using System.Numerics;
using Xunit;

namespace BatchNorm.Tests.Layers;

/// <summary>
/// Channels-last data (<see cref="BatchNormMemoryFormat.ChannelsLast"/>) against the double reference fed the same
/// logical tensor, and against the channels-first layer: the same bits where both formats are the same bytes (spatial
/// size 1), within <see cref="Tolerances.For{T}"/> otherwise (the sums are added in another order).
/// </summary>
public abstract class LayerChannelsLastReferenceTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>1d, 2d and 3d shapes; odd sizes; more channels than a vector; a large one whose rows are cut into row blocks.</summary>
    public static TheoryData<int[], bool, bool> ShapesAndFlags
    {
        get
        {
            var data = new TheoryData<int[], bool, bool>();
            int[][] shapes = [[6, 5], [4, 3, 7], [3, 4, 5, 6], [2, 3, 4, 3, 5], [5, 70, 3, 3], [2, 130, 2, 2], [64, 8, 32, 32]];
            foreach (int[] shape in shapes)
            {
                foreach ((bool affine, bool track) in new[] { (true, true), (false, true), (true, false), (false, false) })
                {
                    data.Add(shape, affine, track);
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(ShapesAndFlags))]
    public void TrainingAndEvaluation_MatchTheReference(int[] shape, bool affine, bool track)
    {
        var pair = new LayerPair<T>(shape, affine: affine, track: track, format: BatchNormMemoryFormat.ChannelsLast);
        pair.RandomizeParameters(5);
        int length = TestData.Length(shape);
        for (int step = 0; step < 2; step++)
        {
            T[] x = TestData.Gaussian<T>(10 + step, length, 1.5, 2);
            pair.Forward(x);
            pair.Backward(x, TestData.Gaussian<T>(20 + step, length));
        }

        pair.Train(false);
        T[] evalInput = TestData.Gaussian<T>(30, length, -0.5, 3);
        pair.Forward(evalInput);
        pair.Backward(evalInput, TestData.Gaussian<T>(31, length));
    }

    [Theory]
    [InlineData(new[] { 7, 5 })]
    [InlineData(new[] { 9, 130 })]
    [InlineData(new[] { 4, 6, 1 })]
    [InlineData(new[] { 3, 5, 1, 1 })]
    [InlineData(new[] { 2, 3, 1, 1, 1 })]
    [InlineData(new[] { 1024, 80 })]
    public void SpatialSizeOne_IsBitIdenticalToChannelsFirst(int[] shape)
    {
        BatchNormBase<T> first = Layer(shape, BatchNormMemoryFormat.ChannelsFirst), last = Layer(shape, BatchNormMemoryFormat.ChannelsLast);
        int length = TestData.Length(shape);
        foreach (bool training in new[] { true, false })
        {
            first.Train(training);
            last.Train(training);
            T[] x = TestData.Gaussian<T>(training ? 1 : 2, length, 2, 3), dy = TestData.Gaussian<T>(3, length);
            T[] y1 = new T[length], y2 = new T[length], dx1 = new T[length], dx2 = new T[length];
            first.Forward(x, shape, y1);
            last.Forward(x, shape, y2);
            first.Backward(x, shape, dy, dx1);
            last.Backward(x, shape, dy, dx2);
            Expect.BitwiseEqual<T>(y1, y2, "output");
            Expect.BitwiseEqual<T>(dx1, dx2, "gradInput");
            Expect.BitwiseEqual<T>(first.RunningMean, last.RunningMean, "running mean");
            Expect.BitwiseEqual<T>(first.RunningVariance, last.RunningVariance, "running variance");
            Expect.BitwiseEqual<T>(first.WeightGradient, last.WeightGradient, "weight gradient");
            Expect.BitwiseEqual<T>(first.BiasGradient, last.BiasGradient, "bias gradient");
        }
    }

    /// <summary>Every tail a row of C channels can leave after whole vectors (C = 1 to 130), in spans cut out of sentinels.</summary>
    [Fact]
    public void EveryChannelCount_InSentinelSlicedSpans_MatchesTheReference_AndWritesNothingElse()
    {
        for (int channels = 1; channels <= 130; channels++)
        {
            int[] shape = [3, channels, 2, 3];
            int length = TestData.Length(shape);
            T[] x = TestData.Gaussian<T>(channels, length, 1, 2), dy = TestData.Gaussian<T>(channels + 1000, length);
            var reference = new ReferenceBatchNorm(channels);
            BatchNormBase<T> layer = TestData.CreateLayer<T>(shape.Length, channels);
            layer.MemoryFormat = BatchNormMemoryFormat.ChannelsLast;
            var input = new SentinelBuffer<T>(TestData.Permute<T>(x, shape, true));
            var gradOutput = new SentinelBuffer<T>(TestData.Permute<T>(dy, shape, true));
            var output = new SentinelBuffer<T>(new T[length]);
            var gradInput = new SentinelBuffer<T>(new T[length]);

            double[] expected = reference.Forward(TestData.ToDouble<T>(x), shape);
            layer.Forward(input.Span, shape, output.Span);
            Expect.Close<T>(expected, TestData.Permute<T>(output.Span, shape, false), Tolerances.For<T>(), $"C = {channels}: output");
            double[] expectedGradient = reference.Backward(TestData.ToDouble<T>(x), shape, TestData.ToDouble<T>(dy));
            layer.Backward(input.Span, shape, gradOutput.Span, gradInput.Span);
            Expect.Close<T>(expectedGradient, TestData.Permute<T>(gradInput.Span, shape, false), Tolerances.For<T>(), $"C = {channels}: gradInput", ScaledComparison<T>.GradInputScale(reference, dy));
            Expect.Close<T>(reference.RunningVar, layer.RunningVariance, Tolerances.For<T>(), $"C = {channels}: running variance");
            foreach ((SentinelBuffer<T> buffer, string name) in new[] { (input, "input"), (gradOutput, "gradOutput"), (output, "output"), (gradInput, "gradInput") })
            {
                buffer.AssertPaddingUntouched($"C = {channels}: {name}");
            }
        }
    }

    [Theory]
    [InlineData(BatchNormMemoryFormat.ChannelsLast, BatchNormMemoryFormat.ChannelsFirst)]
    [InlineData(BatchNormMemoryFormat.ChannelsFirst, BatchNormMemoryFormat.ChannelsLast)]
    public void Backward_DifferentiatesTheFormatOfItsForward_WhateverTheProperty(BatchNormMemoryFormat used, BatchNormMemoryFormat after)
    {
        int[] shape = [4, 5, 3, 2];
        int length = TestData.Length(shape);
        BatchNormBase<T> changed = Layer(shape, used), kept = Layer(shape, used);
        T[] x = TestData.Gaussian<T>(1, length, 1, 2), dy = TestData.Gaussian<T>(2, length), y = new T[length];
        changed.Forward(x, shape, y);
        kept.Forward(x, shape, y);
        changed.MemoryFormat = after;
        T[] dxChanged = new T[length], dxKept = new T[length];
        changed.Backward(x, shape, dy, dxChanged);
        kept.Backward(x, shape, dy, dxKept);
        Expect.BitwiseEqual<T>(dxKept, dxChanged, "gradInput");
        Expect.BitwiseEqual<T>(kept.WeightGradient, changed.WeightGradient, "weight gradient");
        Assert.Equal(after, changed.MemoryFormat);
    }

    private static BatchNormBase<T> Layer(int[] shape, BatchNormMemoryFormat format)
    {
        BatchNormBase<T> layer = TestData.CreateLayer<T>(shape.Length, shape[1]);
        layer.MemoryFormat = format;
        T[] weight = TestData.Convert<T>(TestData.Uniform(7, shape[1], -0.5, 2.0));
        weight.CopyTo(layer.Weight);
        return layer;
    }
}

public sealed class LayerChannelsLastReferenceTestsFloat : LayerChannelsLastReferenceTests<float>
{
}

public sealed class LayerChannelsLastReferenceTestsDouble : LayerChannelsLastReferenceTests<double>
{
}
