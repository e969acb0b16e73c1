using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Xunit;
using static BatchNorm.Tests.TestData;

namespace BatchNorm.Tests;

/// <summary>Theory data for the error tests.</summary>
public static class ErrorTestCases
{
    public static IEnumerable<object[]> Ranks => Cross([2, 3, 4, 5]);

    public static IEnumerable<object[]> RanksAndModes => Cross([2, 3, 4, 5], [true, false]);

    /// <summary>(layer rank, a shape of a rank that layer does not take but with C = 3).</summary>
    public static IEnumerable<object[]> WrongRanks =>
    [
        [2, new[] { 3 }], [2, Array.Empty<int>()], [2, new[] { 2, 3, 2, 2 }], [2, new[] { 2, 3, 1, 1, 1 }],
        [4, new[] { 2, 3 }], [4, new[] { 2, 3, 4 }], [4, new[] { 2, 3, 2, 2, 1 }], [4, new[] { 2, 3, 1, 1, 1, 1 }],
        [5, new[] { 2, 3 }], [5, new[] { 2, 3, 4 }], [5, new[] { 2, 3, 2, 2 }], [5, new[] { 2, 3, 1, 1, 1, 1 }],
    ];

    /// <summary>Shapes whose element count exceeds int.MaxValue; the comments give what a wrapped 32-bit (or 64-bit) product would be.</summary>
    public static IEnumerable<object[]> OverflowingShapes =>
    [
        [new[] { 1431655766, 3 }],                 // 4294967298, wraps to 2
        [new[] { 65536, 3, 65536 }],               // 3 * 2^32, wraps to 0
        [new[] { 65537, 3, 65536 }],               // wraps to 196608
        [new[] { 65536, 3, 65536, 2 }],            // the example, wraps to 0
        [new[] { 65537, 3, 65536, 1 }],            // wraps to 196608
        [new[] { 1, 3, 46341, 46341 }],            // 6442464843, wraps to a negative int
        [new[] { 65536, 3, 65536, 1, 2 }],         // wraps to 0
        [new[] { 65536, 3, 65536, 65536, 65536 }], // 3 * 2^64: even a 64-bit product wraps to 0
    ];

    /// <summary>(shape, mode) where batch statistics would be taken over fewer than two values per channel.</summary>
    public static IEnumerable<object[]> TooFewValues =>
        Cross(
            [
                new[] { 1, 3 }, new[] { 0, 3 }, new[] { 1, 3, 1 }, new[] { 0, 3, 4 }, new[] { 2, 3, 0 },
                new[] { 1, 3, 1, 1 }, new[] { 0, 3, 2, 2 }, new[] { 3, 3, 0, 2 }, new[] { 1, 3, 1, 1, 1 }, new[] { 0, 3, 1, 2, 1 },
            ],
            ["train", "train-untracked", "eval-untracked"]);

    /// <summary>(rank, a shape other than MakeShape(rank, 4) for Backward).</summary>
    public static IEnumerable<object[]> OtherShapes =>
    [
        [2, new[] { 5, 3 }], [2, new[] { 4, 3, 1 }], [2, new[] { 2, 3, 2 }],
        [3, new[] { 4, 3, 4 }], [3, new[] { 2, 3, 10 }], [3, new[] { 20, 3 }], [3, new[] { 4, 3, 5, 1 }],
        [4, new[] { 4, 3, 3, 2 }], [4, new[] { 4, 3, 2, 2 }], [4, new[] { 2, 3, 4, 3 }], [4, new[] { 4, 3, 6 }],
        [5, new[] { 4, 3, 1, 2, 3 }], [5, new[] { 4, 3, 2, 3, 1 }], [5, new[] { 4, 3, 6 }], [5, new[] { 3, 3, 2, 1, 3 }],
    ];

    /// <summary>(kernel, parameter, a wrong length) for layout (4, 3, 5): 60 elements, 3 channels.</summary>
    public static IEnumerable<object[]> KernelLengths
    {
        get
        {
            string[] data = ["input", "output", "gradOutput", "gradInput"];
            string[] optional = ["weight", "bias", "gradInput", "weightGradient", "biasGradient"];
            (string Kernel, string[] Parameters)[] kernels =
            [
                (nameof(BatchNormKernels.ForwardTraining), ["input", "output", "weight", "bias", "mean", "variance", "inverseStandardDeviation"]),
                (nameof(BatchNormKernels.ForwardInference), ["input", "output", "weight", "bias", "runningMean", "runningVariance"]),
                (nameof(BatchNormKernels.Normalize), ["input", "output", "weight", "bias", "mean", "inverseStandardDeviation"]),
                (nameof(BatchNormKernels.ComputeStatistics), ["input", "mean", "variance"]),
                (nameof(BatchNormKernels.UpdateRunningStatistics), ["runningVariance", "mean", "variance"]),
                (nameof(BatchNormKernels.BackwardTraining), ["input", "gradOutput", "gradInput", "weight", "mean", "inverseStandardDeviation", "weightGradient", "biasGradient"]),
                (nameof(BatchNormKernels.BackwardInference), ["input", "gradOutput", "gradInput", "weight", "runningMean", "runningVariance", "weightGradient", "biasGradient"]),
                (nameof(BatchNormKernels.BackwardReduce), ["input", "gradOutput", "mean", "sumGradOutput", "sumGradOutputCentered"]),
                (nameof(BatchNormKernels.BackwardElementwise), ["input", "gradOutput", "gradInput", "weight", "mean", "inverseStandardDeviation", "sumGradOutput", "sumGradOutputCentered"]),
            ];
            foreach ((string kernel, string[] parameters) in kernels)
            {
                foreach (string parameter in parameters)
                {
                    int expected = data.Contains(parameter) ? 60 : 3;
                    yield return [kernel, parameter, expected - 1];
                    yield return [kernel, parameter, expected + 1];
                    bool mayBeEmpty = optional.Contains(parameter) && !(kernel == nameof(BatchNormKernels.BackwardElementwise) && parameter == "gradInput");
                    if (!mayBeEmpty)
                    {
                        yield return [kernel, parameter, 0];
                    }
                }
            }
        }
    }

    /// <summary>(kernel, parameter) that may be empty.</summary>
    public static IEnumerable<object[]> KernelOptionalSpans =>
    [
        [nameof(BatchNormKernels.ForwardTraining), "weight"], [nameof(BatchNormKernels.ForwardTraining), "bias"],
        [nameof(BatchNormKernels.ForwardInference), "weight"], [nameof(BatchNormKernels.ForwardInference), "bias"],
        [nameof(BatchNormKernels.BackwardTraining), "gradInput"], [nameof(BatchNormKernels.BackwardTraining), "weight"],
        [nameof(BatchNormKernels.BackwardTraining), "weightGradient"], [nameof(BatchNormKernels.BackwardTraining), "biasGradient"],
        [nameof(BatchNormKernels.BackwardInference), "gradInput"], [nameof(BatchNormKernels.BackwardInference), "weight"],
        [nameof(BatchNormKernels.BackwardInference), "weightGradient"], [nameof(BatchNormKernels.BackwardInference), "biasGradient"],
        [nameof(BatchNormKernels.Normalize), "weight"], [nameof(BatchNormKernels.Normalize), "bias"],
        [nameof(BatchNormKernels.BackwardElementwise), "weight"],
    ];

    /// <summary>
    /// (kernel, destination, source, shift) for a partial overlap, or, with shift 0, the very same memory for spans that
    /// must be disjoint; the destination is the parameter named.
    /// </summary>
    public static IEnumerable<object[]> KernelOverlaps =>
    [
        [nameof(BatchNormKernels.ForwardTraining), "output", "input", 1],
        [nameof(BatchNormKernels.ForwardTraining), "output", "input", -1],
        [nameof(BatchNormKernels.ForwardTraining), "output", "input", 59],
        [nameof(BatchNormKernels.ForwardTraining), "output", "input", -59],
        [nameof(BatchNormKernels.ForwardInference), "output", "input", 1],
        [nameof(BatchNormKernels.ForwardInference), "output", "input", -30],
        [nameof(BatchNormKernels.BackwardTraining), "gradInput", "gradOutput", 1],
        [nameof(BatchNormKernels.BackwardTraining), "gradInput", "gradOutput", -1],
        [nameof(BatchNormKernels.BackwardTraining), "gradInput", "gradOutput", 30],
        [nameof(BatchNormKernels.BackwardTraining), "gradInput", "input", 1],
        [nameof(BatchNormKernels.BackwardTraining), "gradInput", "weightGradient", -1],
        [nameof(BatchNormKernels.BackwardTraining), "biasGradient", "weightGradient", 1],
        [nameof(BatchNormKernels.BackwardInference), "gradInput", "gradOutput", 1],
        [nameof(BatchNormKernels.BackwardInference), "gradInput", "gradOutput", -59],
        [nameof(BatchNormKernels.BackwardInference), "gradInput", "input", -1],
        [nameof(BatchNormKernels.UpdateRunningStatistics), "runningVariance", "runningMean", 1],
        [nameof(BatchNormKernels.UpdateRunningStatistics), "runningVariance", "runningMean", -2],
        [nameof(BatchNormKernels.UpdateRunningStatistics), "runningVariance", "runningMean", 0],
        [nameof(BatchNormKernels.ForwardTraining), "variance", "mean", 0],
        [nameof(BatchNormKernels.ForwardTraining), "variance", "mean", 1],
        [nameof(BatchNormKernels.ForwardTraining), "inverseStandardDeviation", "mean", 0],
        [nameof(BatchNormKernels.ForwardTraining), "inverseStandardDeviation", "variance", -1],
        [nameof(BatchNormKernels.ComputeStatistics), "variance", "mean", 0],
        [nameof(BatchNormKernels.ComputeStatistics), "variance", "mean", 2],
        [nameof(BatchNormKernels.BackwardTraining), "biasGradient", "weightGradient", 0],
        [nameof(BatchNormKernels.BackwardInference), "biasGradient", "weightGradient", -1],
        [nameof(BatchNormKernels.Normalize), "output", "input", 1],
        [nameof(BatchNormKernels.Normalize), "output", "input", -59],
        [nameof(BatchNormKernels.BackwardReduce), "sumGradOutputCentered", "sumGradOutput", 0],
        [nameof(BatchNormKernels.BackwardReduce), "sumGradOutputCentered", "sumGradOutput", 1],
        [nameof(BatchNormKernels.BackwardElementwise), "gradInput", "gradOutput", 1],
        [nameof(BatchNormKernels.BackwardElementwise), "gradInput", "input", -1],
    ];

    public static IEnumerable<object[]> Cross(params object[][] axes)
    {
        IEnumerable<object[]> rows = [[]];
        foreach (object[] axis in axes)
        {
            rows = rows.SelectMany(row => axis.Select(value => row.Append(value).ToArray())).ToList();
        }

        return rows;
    }
}

/// <summary>Layer errors: the exception type, its ParamName and message, and that every piece of state is left as it was.</summary>
public abstract class LayerErrorTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [Theory]
    [InlineData(2, 0)]
    [InlineData(2, -1)]
    [InlineData(4, 0)]
    [InlineData(4, -7)]
    [InlineData(5, 0)]
    [InlineData(5, int.MinValue)]
    public void Constructor_NonPositiveNumFeatures_ThrowsOutOfRange(int rank, int numFeatures)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => CreateLayer<T>(rank, numFeatures));
        Assert.Equal("numFeatures", ex.ParamName);
        Assert.Equal(numFeatures, ex.ActualValue);
        Assert.Contains(Text(numFeatures), ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(2, -1e-5)]
    [InlineData(4, -double.Epsilon)]
    [InlineData(5, double.NaN)]
    [InlineData(2, double.NegativeInfinity)]
    [InlineData(4, -1.0)]
    public void Constructor_NegativeOrNaNEpsilon_ThrowsOutOfRange(int rank, double epsilon)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => CreateLayer<T>(rank, 3, epsilon));
        Assert.Equal("epsilon", ex.ParamName);
        Assert.Equal(epsilon, Assert.IsType<double>(ex.ActualValue));
        Assert.Contains(Text(epsilon), ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(2, double.NaN)]
    [InlineData(4, -0.1)]
    [InlineData(5, 1.5)]
    [InlineData(2, 1.0000001)]
    [InlineData(4, -double.Epsilon)]
    [InlineData(5, double.PositiveInfinity)]
    [InlineData(2, double.NegativeInfinity)]
    public void Constructor_MomentumNaNOrOutsideZeroOne_ThrowsOutOfRange(int rank, double momentum)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => CreateLayer<T>(rank, 3, momentum: momentum));
        Assert.Equal("momentum", ex.ParamName);
        Assert.Equal(momentum, Assert.IsType<double>(ex.ActualValue));
        Assert.Contains(Text(momentum), ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ErrorTestCases.Ranks), MemberType = typeof(ErrorTestCases))]
    public void Constructor_BoundaryValues_AreAccepted(int rank)
    {
        foreach (double? momentum in new double?[] { 0, 1, null })
        {
            BatchNormBase<T> layer = CreateLayer<T>(rank, 1, epsilon: 0, momentum: momentum);
            Assert.Equal(1, layer.NumFeatures);
            Assert.Equal(0, layer.Epsilon);
            Assert.Equal(momentum, layer.Momentum);
        }
    }

    [Theory]
    [MemberData(nameof(ErrorTestCases.RanksAndModes), MemberType = typeof(ErrorTestCases))]
    public void NumBatchesTracked_Negative_ThrowsOutOfRange(int rank, bool training)
    {
        foreach (long value in new[] { -1L, long.MinValue })
        {
            var pair = new TrainedPair<T>(rank, training);
            var ex = pair.ExpectFailure<ArgumentOutOfRangeException>(l => l.NumBatchesTracked = value, pair.Output, "value", Text(value));
            Assert.Equal(value, ex.ActualValue);
        }
    }

    [Theory]
    [MemberData(nameof(ErrorTestCases.Ranks), MemberType = typeof(ErrorTestCases))]
    public void NumBatchesTracked_NonZeroWithoutRunningStatistics_ThrowsInvalidOperation(int rank)
    {
        var pair = new TrainedPair<T>(rank, training: true, trackRunningStatistics: false);
        pair.ExpectFailure<InvalidOperationException>(l => l.NumBatchesTracked = 3, pair.Output, paramName: null);
    }

    [Theory]
    [InlineData(2, 0)]
    [InlineData(3, -2)]
    [InlineData(4, -100)]
    [InlineData(5, int.MinValue)]
    public void MaxDegreeOfParallelism_ZeroOrBelowMinusOne_ThrowsOutOfRange(int rank, int value)
    {
        var pair = new TrainedPair<T>(rank, training: true);
        pair.Layer.MaxDegreeOfParallelism = 2;
        pair.Twin.MaxDegreeOfParallelism = 2;
        var ex = pair.ExpectFailure<ArgumentOutOfRangeException>(l => l.MaxDegreeOfParallelism = value, pair.Output, "value", Text(value));
        Assert.Equal(value, ex.ActualValue);
        Assert.Equal(2, pair.Layer.MaxDegreeOfParallelism);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1)]
    [InlineData(64)]
    public void MaxDegreeOfParallelism_MinusOneOrPositive_IsAccepted(int value)
    {
        BatchNormBase<T> layer = CreateLayer<T>(4, 3);
        layer.MaxDegreeOfParallelism = value;
        Assert.Equal(value, layer.MaxDegreeOfParallelism);
    }

    [Theory]
    [MemberData(nameof(ErrorTestCases.WrongRanks), MemberType = typeof(ErrorTestCases))]
    public void Forward_WrongRank_Throws(int layerRank, int[] shape)
    {
        foreach (bool training in new[] { true, false })
        {
            var pair = new TrainedPair<T>(layerRank, training);
            int length = Length(shape);
            T[] input = RandomValues<T>(length, 1);
            var output = new T[length];
            string[] accepted = layerRank == 2 ? ["rank 2", "rank 3"] : [$"rank {layerRank}"];
            pair.ExpectFailure<ArgumentException>(
                l => l.Forward(input, shape, output), output, "shape", [$"rank {shape.Length}", .. accepted]);
        }
    }

    [Theory]
    [MemberData(nameof(ErrorTestCases.RanksAndModes), MemberType = typeof(ErrorTestCases))]
    public void Forward_ChannelCountOtherThanNumFeatures_Throws(int rank, bool training)
    {
        foreach (int channels in new[] { 2, 4, 0 })
        {
            var pair = new TrainedPair<T>(rank, training);
            int[] shape = MakeShape(rank, 4, channels);
            int length = Length(shape);
            T[] input = RandomValues<T>(length, 2);
            var output = new T[length];
            string[] parts = channels == 0 ? [] : [Text(Channels), Text(channels)];
            pair.ExpectFailure<ArgumentException>(l => l.Forward(input, shape, output), output, "shape", parts);
        }
    }

    [Theory]
    [MemberData(nameof(ErrorTestCases.RanksAndModes), MemberType = typeof(ErrorTestCases))]
    public void Forward_InputLengthMismatch_Throws(int rank, bool training)
    {
        var pair = new TrainedPair<T>(rank, training);
        int expected = pair.Input.Length;
        foreach (int length in new[] { expected - 1, expected + 1, 0 })
        {
            T[] input = RandomValues<T>(length, 3);
            var output = new T[expected];
            pair.ExpectFailure<ArgumentException>(l => l.Forward(input, pair.Shape, output), output, "input", Text(expected), Text(length));
        }
    }

    [Theory]
    [MemberData(nameof(ErrorTestCases.RanksAndModes), MemberType = typeof(ErrorTestCases))]
    public void Forward_OutputLengthMismatch_Throws(int rank, bool training)
    {
        var pair = new TrainedPair<T>(rank, training);
        int expected = pair.Input.Length;
        foreach (int length in new[] { expected - 1, expected + 1, 0 })
        {
            T[] output = RandomValues<T>(length, 4);
            pair.ExpectFailure<ArgumentException>(l => l.Forward(pair.Input, pair.Shape, output), output, "output", Text(expected), Text(length));
        }
    }

    [Theory]
    [MemberData(nameof(ErrorTestCases.RanksAndModes), MemberType = typeof(ErrorTestCases))]
    public void Forward_NegativeDimension_Throws(int rank, bool training)
    {
        for (int dimension = 0; dimension < rank; dimension++)
        {
            var pair = new TrainedPair<T>(rank, training);
            int[] shape = (int[])pair.Shape.Clone();
            shape[dimension] = dimension == 1 ? -3 : -2;
            var output = (T[])pair.Output.Clone();
            pair.ExpectFailure<ArgumentException>(
                l => l.Forward(pair.Input, shape, output), output, "shape", Text(shape[dimension]));
        }
    }

    [Theory]
    [MemberData(nameof(ErrorTestCases.OverflowingShapes), MemberType = typeof(ErrorTestCases))]
    public void Forward_ElementCountOverflowingInt_IsRejectedNotWrapped(int[] shape)
    {
        // Spans of the length a wrapped product would give, so that only the overflow check can reject the call.
        long wrapped64 = 1;
        foreach (int d in shape)
        {
            wrapped64 = unchecked(wrapped64 * d);
        }

        int wrapped = unchecked((int)wrapped64);
        int length = wrapped is >= 0 and <= 1 << 20 ? wrapped : 0;
        foreach (bool training in new[] { true, false })
        {
            var pair = new TrainedPair<T>(shape.Length, training);
            T[] input = RandomValues<T>(length, 5);
            T[] output = RandomValues<T>(length, 6);
            pair.ExpectFailure<ArgumentException>(l => l.Forward(input, shape, output), output, "shape", Text(shape[0]));
        }
    }

    [Theory]
    [MemberData(nameof(ErrorTestCases.RanksAndModes), MemberType = typeof(ErrorTestCases))]
    public void Forward_OutputPartiallyOverlapsInput_Throws(int rank, bool training)
    {
        foreach (int shift in new[] { 1, -1, 11, -11 })
        {
            var pair = new TrainedPair<T>(rank, training);
            int length = pair.Input.Length;
            T[] buffer = RandomValues<T>(length + Math.Abs(shift), 7, 1, 2);
            int inputStart = Math.Max(0, -shift);
            pair.ExpectFailure<ArgumentException>(
                l => l.Forward(buffer.AsSpan(inputStart, length), pair.Shape, buffer.AsSpan(inputStart + shift, length)),
                buffer,
                "output",
                "input");
        }
    }

    [Theory]
    [MemberData(nameof(ErrorTestCases.RanksAndModes), MemberType = typeof(ErrorTestCases))]
    public void Forward_OutputExactlyAliasingInput_IsAllowedAndMatchesSeparateOutput(int rank, bool training)
    {
        var pair = new TrainedPair<T>(rank, training);
        T[] inPlace = RandomValues<T>(pair.Input.Length, 8, 2, 3);
        T[] input = (T[])inPlace.Clone();
        var output = new T[input.Length];
        pair.Layer.Forward(inPlace, pair.Shape, inPlace);
        pair.Twin.Forward(input, pair.Shape, output);
        Expect.BitwiseEqual<T>(output, inPlace, "in-place output");
        Expect.BitwiseEqual<T>(pair.Twin.RunningMean, pair.Layer.RunningMean, "RunningMean");
        Expect.BitwiseEqual<T>(pair.Twin.RunningVariance, pair.Layer.RunningVariance, "RunningVariance");
    }

    [Theory]
    [MemberData(nameof(ErrorTestCases.TooFewValues), MemberType = typeof(ErrorTestCases))]
    public void Forward_BatchStatisticsOverFewerThanTwoValues_Throws(int[] shape, string mode)
    {
        var pair = new TrainedPair<T>(shape.Length, training: mode != "eval-untracked", trackRunningStatistics: mode == "train");
        int length = Length(shape);
        T[] input = RandomValues<T>(length, 9);
        T[] output = RandomValues<T>(length, 10);
        var ex = pair.ExpectFailure<ArgumentException>(l => l.Forward(input, shape, output), output, paramName: null, Text(ValuesPerChannel(shape)));
        Assert.Contains(ex.ParamName, new[] { "input", "shape" });
    }

    [Theory]
    [InlineData(new[] { 1, 3 })]
    [InlineData(new[] { 1, 3, 1 })]
    [InlineData(new[] { 1, 3, 1, 1 })]
    [InlineData(new[] { 1, 3, 1, 1, 1 })]
    public void Forward_OneValuePerChannelInEvalWithRunningStatistics_IsAllowed(int[] shape)
    {
        var pair = new TrainedPair<T>(shape.Length, training: false);
        T[] input = Values<T>(0.5, -1, 2);
        var output = new T[3];
        pair.Layer.Forward(input, shape, output);
        for (int c = 0; c < Channels; c++)
        {
            double mean = double.CreateChecked(pair.Layer.RunningMean[c]);
            double invStd = 1 / Math.Sqrt(double.CreateChecked(pair.Layer.RunningVariance[c]) + pair.Layer.Epsilon);
            double expected = ((double.CreateChecked(input[c]) - mean) * invStd * double.CreateChecked(pair.Layer.Weight[c])) + double.CreateChecked(pair.Layer.Bias[c]);
            Expect.Known(expected, output[c], $"output[{c}]");
        }
    }

    [Theory]
    [InlineData(2, true, true)]
    [InlineData(3, false, true)]
    [InlineData(4, true, false)]
    [InlineData(5, false, false)]
    public void Backward_BeforeAnyForward_ThrowsInvalidOperation(int rank, bool affine, bool trackRunningStatistics)
    {
        BatchNormBase<T> layer = CreateLayer<T>(rank, Channels, affine: affine, trackRunningStatistics: trackRunningStatistics);
        int[] shape = MakeShape(rank, 4);
        int length = Length(shape);
        T[] input = RandomValues<T>(length, 1);
        T[] gradOutput = RandomValues<T>(length, 2);
        T[] gradInput = RandomValues<T>(length, 3);
        var before = new LayerSnapshot<T>(layer, gradInput);
        var ex = Assert.Throws<InvalidOperationException>(() => layer.Backward(input, shape, gradOutput, gradInput));
        Assert.Contains("Forward", ex.Message, StringComparison.Ordinal);
        before.AssertSame(layer, gradInput, "after Backward before Forward");

        // A Forward that failed does not count as one.
        var output = new T[length - 1];
        Assert.ThrowsAny<ArgumentException>(() => layer.Forward(input, shape, output));
        Assert.Throws<InvalidOperationException>(() => layer.Backward(input, shape, gradOutput, gradInput));
        before.AssertSame(layer, gradInput, "after Backward after a failed Forward");
    }

    [Theory]
    [MemberData(nameof(ErrorTestCases.OtherShapes), MemberType = typeof(ErrorTestCases))]
    public void Backward_ShapeOtherThanLastForwards_Throws(int rank, int[] shape)
    {
        foreach (bool training in new[] { true, false })
        {
            var pair = new TrainedPair<T>(rank, training);
            int length = Length(shape);
            T[] input = RandomValues<T>(length, 1);
            T[] gradOutput = RandomValues<T>(length, 2);
            T[] gradInput = RandomValues<T>(length, 3);
            pair.ExpectFailure<ArgumentException>(
                l => l.Backward(input, shape, gradOutput, gradInput), gradInput, "shape", FormatShape(pair.Shape), FormatShape(shape));
        }
    }

    [Theory]
    [MemberData(nameof(ErrorTestCases.RanksAndModes), MemberType = typeof(ErrorTestCases))]
    public void Backward_SpanLengthMismatch_Throws(int rank, bool training)
    {
        foreach (string parameter in new[] { "input", "gradOutput", "gradInput" })
        {
            var pair = new TrainedPair<T>(rank, training);
            int expected = pair.Input.Length;
            int[] lengths = parameter == "gradInput" ? [expected - 1, expected + 1] : [expected - 1, expected + 1, 0];
            foreach (int length in lengths)
            {
                T[] input = parameter == "input" ? RandomValues<T>(length, 1) : pair.Input;
                T[] gradOutput = parameter == "gradOutput" ? RandomValues<T>(length, 2) : pair.GradOutput;
                T[] gradInput = RandomValues<T>(parameter == "gradInput" ? length : expected, 3);
                pair.ExpectFailure<ArgumentException>(
                    l => l.Backward(input, pair.Shape, gradOutput, gradInput), gradInput, parameter, Text(expected), Text(length));
            }
        }
    }

    [Theory]
    [MemberData(nameof(ErrorTestCases.RanksAndModes), MemberType = typeof(ErrorTestCases))]
    public void Backward_EmptyGradInput_SkipsItButAccumulatesParameterGradients(int rank, bool training)
    {
        var pair = new TrainedPair<T>(rank, training);
        pair.Layer.Backward(pair.Input, pair.Shape, pair.GradOutput, Span<T>.Empty);
        pair.Twin.Backward(pair.Input, pair.Shape, pair.GradOutput, new T[pair.Input.Length]);
        Expect.BitwiseEqual<T>(pair.Twin.WeightGradient, pair.Layer.WeightGradient, "WeightGradient");
        Expect.BitwiseEqual<T>(pair.Twin.BiasGradient, pair.Layer.BiasGradient, "BiasGradient");
    }

    [Theory]
    [MemberData(nameof(ErrorTestCases.RanksAndModes), MemberType = typeof(ErrorTestCases))]
    public void Backward_GradInputPartiallyOverlapsGradOutput_Throws(int rank, bool training)
    {
        foreach (int shift in new[] { 1, -1, 11, -11 })
        {
            var pair = new TrainedPair<T>(rank, training);
            int length = pair.Input.Length;
            T[] buffer = RandomValues<T>(length + Math.Abs(shift), 7);
            int gradOutputStart = Math.Max(0, -shift);
            pair.ExpectFailure<ArgumentException>(
                l => l.Backward(pair.Input, pair.Shape, buffer.AsSpan(gradOutputStart, length), buffer.AsSpan(gradOutputStart + shift, length)),
                buffer,
                "gradInput",
                "gradOutput");
        }
    }

    [Theory]
    [MemberData(nameof(ErrorTestCases.RanksAndModes), MemberType = typeof(ErrorTestCases))]
    public void Backward_GradInputPartiallyOverlapsInput_Throws(int rank, bool training)
    {
        var pair = new TrainedPair<T>(rank, training);
        int length = pair.Input.Length;
        T[] buffer = new T[length + 1];
        pair.Input.CopyTo(buffer, 0);
        pair.ExpectFailure<ArgumentException>(
            l => l.Backward(buffer.AsSpan(0, length), pair.Shape, pair.GradOutput, buffer.AsSpan(1, length)), buffer, "gradInput", "input");
    }

    [Theory]
    [MemberData(nameof(ErrorTestCases.RanksAndModes), MemberType = typeof(ErrorTestCases))]
    public void Backward_GradInputExactlyAliasingGradOutput_IsAllowedAndMatchesSeparateGradInput(int rank, bool training)
    {
        var pair = new TrainedPair<T>(rank, training);
        T[] inPlace = (T[])pair.GradOutput.Clone();
        var gradInput = new T[inPlace.Length];
        pair.Layer.Backward(pair.Input, pair.Shape, inPlace, inPlace);
        pair.Twin.Backward(pair.Input, pair.Shape, pair.GradOutput, gradInput);
        Expect.BitwiseEqual<T>(gradInput, inPlace, "in-place gradInput");
        Expect.BitwiseEqual<T>(pair.Twin.WeightGradient, pair.Layer.WeightGradient, "WeightGradient");
        Expect.BitwiseEqual<T>(pair.Twin.BiasGradient, pair.Layer.BiasGradient, "BiasGradient");
    }

    [Theory]
    [MemberData(nameof(ErrorTestCases.RanksAndModes), MemberType = typeof(ErrorTestCases))]
    public void FailedForward_KeepsWhatBackwardNeeds(int rank, bool training)
    {
        // A failing Forward on a different, valid shape (the output is one element short): Backward must still
        // differentiate the last good Forward, and still refuse the failed call's shape.
        var pair = new TrainedPair<T>(rank, training);
        int[] otherShape = MakeShape(rank, 6);
        int otherLength = Length(otherShape);
        T[] otherInput = RandomValues<T>(otherLength, 31, 5, 1);
        var shortOutput = new T[otherLength - 1];
        pair.ExpectFailure<ArgumentException>(l => l.Forward(otherInput, otherShape, shortOutput), shortOutput, "output");

        // Statistics over one value per channel (in training) fail too, after which Backward is unchanged.
        int[] single = MakeShape(rank, 1);
        if (training && ValuesPerChannel(single) < 2)
        {
            T[] singleInput = RandomValues<T>(Length(single), 32);
            var singleOutput = new T[singleInput.Length];
            pair.ExpectFailure<ArgumentException>(l => l.Forward(singleInput, single, singleOutput), singleOutput, paramName: null);
        }

        var gradInput = new T[otherLength];
        pair.ExpectFailure<ArgumentException>(
            l => l.Backward(otherInput, otherShape, RandomValues<T>(otherLength, 33), gradInput), gradInput, "shape");
    }

    [Theory]
    [MemberData(nameof(ErrorTestCases.Ranks), MemberType = typeof(ErrorTestCases))]
    public void FailedForwardInOtherMode_BackwardStillDifferentiatesLastGoodForward(int rank)
    {
        // The good Forward trained; the mode switches to eval and an eval Forward fails: Backward must still use the
        // batch statistics of the training Forward (the twin, switched to eval too, never saw the failure).
        var pair = new TrainedPair<T>(rank, training: true);
        pair.Layer.Eval();
        pair.Twin.Eval();
        var output = new T[pair.Input.Length + 1];
        pair.ExpectFailure<ArgumentException>(l => l.Forward(pair.Input, pair.Shape, output), output, "output");
    }

    [Theory]
    [InlineData(2, 3)]
    [InlineData(4, -1)]
    [InlineData(5, int.MaxValue)]
    public void NonFiniteStatisticsPolicy_UndefinedValue_ThrowsOutOfRange(int rank, int value)
    {
        var pair = new TrainedPair<T>(rank, training: true);
        var policy = (NonFiniteStatisticsPolicy)value;
        var ex = pair.ExpectFailure<ArgumentOutOfRangeException>(l => l.NonFiniteStatisticsPolicy = policy, pair.Output, "value", Text(value));
        Assert.Equal(policy, ex.ActualValue);
    }

    [Theory]
    [InlineData(2, double.NaN)]
    [InlineData(3, double.PositiveInfinity)]
    [InlineData(4, double.NegativeInfinity)]
    [InlineData(5, double.NaN)]
    public void NonFiniteStatisticsPolicyThrow_NonFiniteTrainingBatch_ThrowsAndChangesNothing(int rank, double bad)
    {
        var pair = new TrainedPair<T>(rank, training: true);
        pair.Layer.NonFiniteStatisticsPolicy = NonFiniteStatisticsPolicy.Throw;
        pair.Twin.NonFiniteStatisticsPolicy = NonFiniteStatisticsPolicy.Throw;
        T[] input = RandomValues<T>(pair.Input.Length, 51, 1, 2);
        int spatial = ValuesPerChannel(pair.Shape) / pair.Shape[0];
        input[(((2 * Channels) + 1) * spatial) + spatial - 1] = T.CreateChecked(bad);  // sample 2, channel 1, last position
        T[] output = RandomValues<T>(input.Length, 52);
        pair.ExpectFailure<ArgumentException>(l => l.Forward(input, pair.Shape, output), output, "input", "1");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    public void NonFiniteStatisticsPolicyThrow_DoesNotApplyWithoutARunningStatisticsUpdate(int rank)
    {
        // Eval with running statistics, and training without them, update nothing: a NaN just propagates.
        foreach (bool track in new[] { true, false })
        {
            var pair = new TrainedPair<T>(rank, training: !track, trackRunningStatistics: track);
            pair.Layer.NonFiniteStatisticsPolicy = NonFiniteStatisticsPolicy.Throw;
            T[] input = (T[])pair.Input.Clone();
            input[0] = T.NaN;
            var output = new T[input.Length];
            pair.Layer.Forward(input, pair.Shape, output);
            Assert.True(T.IsNaN(output[0]));
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void NonFiniteStatisticsPolicyThrow_FiniteBatch_GivesTheDefaultPolicysResults(int rank)
    {
        var pair = new TrainedPair<T>(rank, training: true);
        pair.Layer.NonFiniteStatisticsPolicy = NonFiniteStatisticsPolicy.Throw;
        var output = new T[pair.Input.Length];
        var twinOutput = new T[pair.Input.Length];
        pair.Layer.Forward(pair.Input, pair.Shape, output);
        pair.Twin.Forward(pair.Input, pair.Shape, twinOutput);
        Expect.BitwiseEqual<T>(twinOutput, output, "output");
        Expect.BitwiseEqual<T>(pair.Twin.RunningMean, pair.Layer.RunningMean, "RunningMean");
        Expect.BitwiseEqual<T>(pair.Twin.RunningVariance, pair.Layer.RunningVariance, "RunningVariance");
        pair.AssertBackwardMatchesTwin();
    }

    [Theory]
    [InlineData(2, false)]
    [InlineData(3, true)]
    [InlineData(4, false)]
    [InlineData(5, true)]
    public void Forward_WithCounterAtLongMaxValue_NeitherWrapsItNegativeNorFailsAfterChangingState(int rank, bool cumulative)
    {
        // NumBatchesTracked = long.MaxValue is accepted by the setter; the next training Forward must either keep the
        // counter non-negative or fail without touching anything.
        var pair = new TrainedPair<T>(rank, training: true, momentum: cumulative ? null : 0.1);
        pair.Layer.NumBatchesTracked = long.MaxValue;
        pair.Twin.NumBatchesTracked = long.MaxValue;
        T[] input = RandomValues<T>(pair.Input.Length, 41, 2, 1);
        T[] output = RandomValues<T>(pair.Input.Length, 42);
        var before = new LayerSnapshot<T>(pair.Layer, output);
        Exception? ex = Record.Exception(() => pair.Layer.Forward(input, pair.Shape, output));
        if (ex is null)
        {
            Assert.True(pair.Layer.NumBatchesTracked >= 0, $"NumBatchesTracked wrapped around to {pair.Layer.NumBatchesTracked}.");
        }
        else
        {
            before.AssertSame(pair.Layer, output, $"after Forward threw {ex.GetType().Name} ({ex.Message})");
            pair.AssertBackwardMatchesTwin();
        }
    }
}

public sealed class LayerErrorTestsFloat : LayerErrorTests<float>
{
}

public sealed class LayerErrorTestsDouble : LayerErrorTests<double>
{
}

/// <summary>Errors of the functional <see cref="BatchNormKernels"/> API; every output buffer must stay untouched.</summary>
public abstract class KernelErrorTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private static BatchNormLayout Layout => new(4, 3, 5);

    [Theory]
    [MemberData(nameof(ErrorTestCases.KernelLengths), MemberType = typeof(ErrorTestCases))]
    public void SpanLengthMismatch_Throws(string kernel, string parameter, int length)
    {
        var args = new KernelArgs<T>(Layout);
        int expected = KernelArgs<T>.DoubleNames.Contains(parameter) ? Layout.Channels : args.DefaultLength(parameter);
        args.Resize(parameter, length);
        ArgumentException ex = ExpectFailure<ArgumentException>(args, kernel, parameter);
        Assert.Contains(Text(expected), ex.Message, StringComparison.Ordinal);
        Assert.Contains(Text(length), ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ErrorTestCases.KernelOptionalSpans), MemberType = typeof(ErrorTestCases))]
    public void OptionalSpan_MayBeEmpty(string kernel, string parameter)
    {
        var args = new KernelArgs<T>(Layout);
        args.SetTyped(parameter, Memory<T>.Empty);
        args.Invoke(kernel);
    }

    [Theory]
    [MemberData(nameof(ErrorTestCases.KernelOverlaps), MemberType = typeof(ErrorTestCases))]
    public void PartialOverlap_Throws(string kernel, string destination, string source, int shift)
    {
        var args = new KernelArgs<T>(Layout);
        args.Overlap(destination, source, shift);
        ArgumentException ex = ExpectFailure<ArgumentException>(args, kernel, destination);
        Assert.Contains(source, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(nameof(BatchNormKernels.ForwardTraining), "output", "input")]
    [InlineData(nameof(BatchNormKernels.ForwardInference), "output", "input")]
    [InlineData(nameof(BatchNormKernels.BackwardTraining), "gradInput", "gradOutput")]
    [InlineData(nameof(BatchNormKernels.BackwardInference), "gradInput", "gradOutput")]
    [InlineData(nameof(BatchNormKernels.Normalize), "output", "input")]
    [InlineData(nameof(BatchNormKernels.BackwardElementwise), "gradInput", "gradOutput")]
    [InlineData(nameof(BatchNormKernels.BackwardElementwise), "gradInput", "input")]
    public void ExactAlias_IsAllowedAndMatchesSeparateBuffers(string kernel, string destination, string source)
    {
        var separate = new KernelArgs<T>(Layout);
        var aliased = new KernelArgs<T>(Layout);
        aliased.SetTyped(destination, aliased.GetTyped(source));
        separate.Invoke(kernel);
        aliased.Invoke(kernel);
        Expect.BitwiseEqual<T>(separate.GetTyped(destination).Span, aliased.GetTyped(destination).Span, destination);
        Expect.BitwiseEqual<T>(separate.WeightGradient.Span, aliased.WeightGradient.Span, "weightGradient");
        Expect.BitwiseEqual<T>(separate.BiasGradient.Span, aliased.BiasGradient.Span, "biasGradient");
        Expect.BitwiseEqual<double>(separate.Mean.Span, aliased.Mean.Span, "mean");
    }

    [Theory]
    [InlineData(nameof(BatchNormKernels.ForwardTraining), -1e-5)]
    [InlineData(nameof(BatchNormKernels.ForwardTraining), double.NaN)]
    [InlineData(nameof(BatchNormKernels.ForwardInference), double.NegativeInfinity)]
    [InlineData(nameof(BatchNormKernels.ForwardInference), double.NaN)]
    [InlineData(nameof(BatchNormKernels.BackwardInference), -1.0)]
    [InlineData(nameof(BatchNormKernels.BackwardInference), double.NaN)]
    public void NegativeOrNaNEpsilon_ThrowsOutOfRange(string kernel, double epsilon)
    {
        var args = new KernelArgs<T>(Layout) { Epsilon = epsilon };
        var ex = ExpectFailure<ArgumentOutOfRangeException>(args, kernel, "epsilon");
        Assert.Equal(epsilon, Assert.IsType<double>(ex.ActualValue));
        Assert.Contains(Text(epsilon), ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void UpdateRunningStatistics_FewerThanTwoValuesPerChannel_ThrowsOutOfRange(int valuesPerChannel)
    {
        var args = new KernelArgs<T>(Layout) { ValuesPerChannel = valuesPerChannel };
        var ex = ExpectFailure<ArgumentOutOfRangeException>(args, nameof(BatchNormKernels.UpdateRunningStatistics), "valuesPerChannel");
        Assert.Equal(valuesPerChannel, ex.ActualValue);
        Assert.Contains(Text(valuesPerChannel), ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-0.01)]
    [InlineData(1.01)]
    [InlineData(-double.Epsilon)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void UpdateRunningStatistics_FactorNaNOrOutsideZeroOne_ThrowsOutOfRange(double factor)
    {
        var args = new KernelArgs<T>(Layout) { Factor = factor };
        var ex = ExpectFailure<ArgumentOutOfRangeException>(args, nameof(BatchNormKernels.UpdateRunningStatistics), "factor");
        Assert.Equal(factor, Assert.IsType<double>(ex.ActualValue));
        Assert.Contains(Text(factor), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UpdateRunningStatistics_BoundaryArguments_AreAccepted()
    {
        var keep = new KernelArgs<T>(Layout) { Factor = 0, ValuesPerChannel = 2 };
        T[] mean = keep.RunningMean.ToArray();
        T[] variance = keep.RunningVariance.ToArray();
        keep.Invoke(nameof(BatchNormKernels.UpdateRunningStatistics));
        Expect.BitwiseEqual<T>(mean, keep.RunningMean.Span, "runningMean with factor 0");
        Expect.BitwiseEqual<T>(variance, keep.RunningVariance.Span, "runningVariance with factor 0");

        var replace = new KernelArgs<T>(Layout) { Factor = 1, ValuesPerChannel = 2 };
        replace.Invoke(nameof(BatchNormKernels.UpdateRunningStatistics));
        for (int c = 0; c < Layout.Channels; c++)
        {
            Expect.Known(replace.Mean.Span[c], replace.RunningMean.Span[c], $"runningMean[{c}] with factor 1");
            Expect.Known(replace.Variance.Span[c] * 2, replace.RunningVariance.Span[c], $"runningVariance[{c}] with factor 1, M = 2");
        }
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-1L)]
    [InlineData(long.MinValue)]
    public void BackwardElementwise_CountBelowOne_ThrowsOutOfRange(long count)
    {
        var args = new KernelArgs<T>(Layout) { Count = count };
        var ex = ExpectFailure<ArgumentOutOfRangeException>(args, nameof(BatchNormKernels.BackwardElementwise), "count");
        Assert.Equal(count, ex.ActualValue);
        Assert.Contains(Text(count), ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, 3, 1)]
    [InlineData(0, 3, 5)]
    [InlineData(2, 3, 0)]
    [InlineData(1, 1, 0)]
    public void ForwardTraining_FewerThanTwoValuesPerChannel_Throws(int batch, int channels, int spatial)
    {
        var layout = new BatchNormLayout(batch, channels, spatial);
        var args = new KernelArgs<T>(layout);
        var ex = ExpectFailure<ArgumentException>(args, nameof(BatchNormKernels.ForwardTraining), paramName: null);
        Assert.Contains(ex.ParamName, new[] { "input", "layout" });
        Assert.Contains(Text(layout.ValuesPerChannel), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ComputeStatistics_EmptyChannels_Throws()
    {
        var args = new KernelArgs<T>(new BatchNormLayout(0, 3, 5));
        var ex = ExpectFailure<ArgumentException>(args, nameof(BatchNormKernels.ComputeStatistics), paramName: null);
        Assert.Contains(ex.ParamName, new[] { "input", "layout" });
    }

    [Fact]
    public void ComputeStatistics_OneValuePerChannel_GivesThatValueAndZeroVariance()
    {
        var args = new KernelArgs<T>(new BatchNormLayout(1, 3, 1));
        args.Invoke(nameof(BatchNormKernels.ComputeStatistics));
        for (int c = 0; c < 3; c++)
        {
            Assert.Equal(double.CreateChecked(args.Input.Span[c]), args.Mean.Span[c]);
            Assert.Equal(0, args.Variance.Span[c]);
        }
    }

    [Fact]
    public void EmptyInputInInference_GivesEmptyOutput()
    {
        var args = new KernelArgs<T>(new BatchNormLayout(0, 3, 5));
        List<byte[]> before = args.Snapshot();
        args.Invoke(nameof(BatchNormKernels.ForwardInference));
        args.AssertUnchanged(before, "empty inference");
    }

    private static TException ExpectFailure<TException>(KernelArgs<T> args, string kernel, string? paramName)
        where TException : ArgumentException
    {
        List<byte[]> before = args.Snapshot();
        TException ex = Assert.ThrowsAny<TException>(() => args.Invoke(kernel));
        if (paramName is not null)
        {
            Assert.Equal(paramName, ex.ParamName);
        }

        args.AssertUnchanged(before, $"after the failed {kernel}");
        return ex;
    }
}

public sealed class KernelErrorTestsFloat : KernelErrorTests<float>
{
}

public sealed class KernelErrorTestsDouble : KernelErrorTests<double>
{
}

/// <summary><see cref="BatchNormLayout"/> constructor and <see cref="BatchNormLayout.FromShape"/> errors.</summary>
public sealed class LayoutErrorTests
{
    [Theory]
    [InlineData(-1, 3, 1, "batchSize", -1)]
    [InlineData(int.MinValue, 3, 1, "batchSize", int.MinValue)]
    [InlineData(2, 0, 1, "channels", 0)]
    [InlineData(2, -4, 1, "channels", -4)]
    [InlineData(2, 3, -1, "spatialSize", -1)]
    public void Constructor_BadCount_ThrowsOutOfRange(int batchSize, int channels, int spatialSize, string paramName, int actual)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNormLayout(batchSize, channels, spatialSize));
        Assert.Equal(paramName, ex.ParamName);
        Assert.Equal(actual, ex.ActualValue);
        Assert.Contains(Text(actual), ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(65536, 3, 65536)]
    [InlineData(int.MaxValue, 2, 1)]
    [InlineData(46341, 46341, 1)]
    [InlineData(1, int.MaxValue, int.MaxValue)]
    public void Constructor_ElementCountOverflowingInt_ThrowsOutOfRange(int batchSize, int channels, int spatialSize)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNormLayout(batchSize, channels, spatialSize));
        Assert.Contains(ex.ParamName, new[] { "batchSize", "channels", "spatialSize" });
        Assert.Contains(Text(batchSize), ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(int.MaxValue, 1, 1)]
    [InlineData(1, 1, int.MaxValue)]
    [InlineData(0, int.MaxValue, int.MaxValue)]
    [InlineData(0, 1, 0)]
    public void Constructor_Boundaries_AreAccepted(int batchSize, int channels, int spatialSize)
    {
        var layout = new BatchNormLayout(batchSize, channels, spatialSize);
        Assert.Equal((long)batchSize * channels * spatialSize, layout.Length);
        Assert.Equal((long)batchSize * spatialSize, layout.ValuesPerChannel);
    }

    [Theory]
    [InlineData(new int[0], "0")]
    [InlineData(new[] { 5 }, "1")]
    public void FromShape_RankBelowTwo_Throws(int[] shape, string rank)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => BatchNormLayout.FromShape(shape));
        Assert.Equal("shape", ex.ParamName);
        Assert.Contains(rank, ex.Message, StringComparison.Ordinal);
        Assert.Contains("2", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { -1, 3 }, "-1")]
    [InlineData(new[] { 2, -3 }, "-3")]
    [InlineData(new[] { 2, 3, -4 }, "-4")]
    [InlineData(new[] { 2, 3, 4, 5, -6 }, "-6")]
    [InlineData(new[] { 65536, 3, 65536, -2 }, "-2")]
    public void FromShape_NegativeDimension_Throws(int[] shape, string value)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => BatchNormLayout.FromShape(shape));
        Assert.Equal("shape", ex.ParamName);
        Assert.Contains(value, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { 2, 0 })]
    [InlineData(new[] { 2, 0, 5 })]
    public void FromShape_ZeroChannels_Throws(int[] shape)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => BatchNormLayout.FromShape(shape));
        Assert.Equal("shape", ex.ParamName);
    }

    [Theory]
    [MemberData(nameof(ErrorTestCases.OverflowingShapes), MemberType = typeof(ErrorTestCases))]
    [InlineData(new[] { int.MaxValue, 2 })]
    [InlineData(new[] { 65536, 1, 65536, 65536, 65536, 65536 })]
    public void FromShape_ElementCountOverflowingInt_Throws(int[] shape)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => BatchNormLayout.FromShape(shape));
        Assert.Equal("shape", ex.ParamName);
        Assert.Contains(Text(shape[0]), ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { 2, 3 }, 2, 3, 1)]
    [InlineData(new[] { 2, 3, 4 }, 2, 3, 4)]
    [InlineData(new[] { 2, 3, 4, 5 }, 2, 3, 20)]
    [InlineData(new[] { 0, 3, 4, 5, 6 }, 0, 3, 120)]
    [InlineData(new[] { 1, 1, 46340, 46340 }, 1, 1, 46340 * 46340)]
    public void FromShape_ValidShape_MapsToLayout(int[] shape, int batch, int channels, int spatial)
    {
        Assert.Equal(new BatchNormLayout(batch, channels, spatial), BatchNormLayout.FromShape(shape));
    }
}

/// <summary>Element types other than float and double.</summary>
public sealed class ElementTypeErrorTests
{
    [Fact]
    public void Layers_OfHalf_ThrowNotSupported()
    {
        Assert.Contains("Half", Assert.Throws<NotSupportedException>(() => new BatchNorm1d<Half>(3)).Message, StringComparison.Ordinal);
        Assert.Contains("Half", Assert.Throws<NotSupportedException>(() => new BatchNorm2d<Half>(3)).Message, StringComparison.Ordinal);
        Assert.Contains("Half", Assert.Throws<NotSupportedException>(() => new BatchNorm3d<Half>(3)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Kernels_OfHalf_ThrowNotSupported()
    {
        var layout = new BatchNormLayout(4, 3, 5);
        var x = new Half[60];
        var y = new Half[60];
        var channel = new Half[3];
        var statistics = new double[3];
        var statistics2 = new double[3];
        var statistics3 = new double[3];
        Assert.Throws<NotSupportedException>(() => BatchNormKernels.ForwardTraining<Half>(x, y, layout, channel, channel, 1e-5, statistics, statistics2, statistics3));
        Assert.Throws<NotSupportedException>(() => BatchNormKernels.ForwardInference<Half>(x, y, layout, channel, channel, channel, new Half[3], 1e-5));
        Assert.Throws<NotSupportedException>(() => BatchNormKernels.ComputeStatistics<Half>(x, layout, statistics, statistics2));
        Assert.Throws<NotSupportedException>(() => BatchNormKernels.UpdateRunningStatistics<Half>(channel, new Half[3], statistics, statistics2, 60, 0.1));
        Assert.Throws<NotSupportedException>(() => BatchNormKernels.BackwardTraining<Half>(x, y, new Half[60], layout, channel, statistics, statistics2, new Half[3], new Half[3]));
        Assert.Throws<NotSupportedException>(() => BatchNormKernels.BackwardInference<Half>(x, y, new Half[60], layout, channel, channel, new Half[3], 1e-5, new Half[3], new Half[3]));
        Assert.Throws<NotSupportedException>(() => BatchNormKernels.Normalize<Half>(x, y, layout, channel, channel, statistics, statistics2));
        Assert.Throws<NotSupportedException>(() => BatchNormKernels.BackwardReduce<Half>(x, y, layout, statistics, statistics2, statistics3));
        Assert.Throws<NotSupportedException>(() => BatchNormKernels.BackwardElementwise<Half>(x, y, new Half[60], layout, channel, statistics, statistics2, statistics3, new double[3], 20));
        Assert.All(x, v => Assert.Equal(Half.Zero, v));
        Assert.All(y, v => Assert.Equal(Half.Zero, v));
    }
}
