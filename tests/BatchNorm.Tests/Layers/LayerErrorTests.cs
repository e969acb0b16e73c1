using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics;
using Xunit;
using static BatchNorm.Tests.TestData;

namespace BatchNorm.Tests.Layers;

/// <summary>Layer errors: the exception type, its ParamName and message, and that every piece of state is left as it was.</summary>
public abstract class LayerErrorTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>The memory format every layer of these tests takes its data in.</summary>
    protected virtual BatchNormMemoryFormat Format => BatchNormMemoryFormat.ChannelsFirst;

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
            var pair = new TrainedPair<T>(rank, training, format: Format);
            var ex = pair.ExpectFailure<ArgumentOutOfRangeException>(l => l.NumBatchesTracked = value, pair.Output, "value", Text(value));
            Assert.Equal(value, ex.ActualValue);
        }
    }

    [Theory]
    [MemberData(nameof(ErrorTestCases.Ranks), MemberType = typeof(ErrorTestCases))]
    public void NumBatchesTracked_NonZeroWithoutRunningStatistics_ThrowsInvalidOperation(int rank)
    {
        var pair = new TrainedPair<T>(rank, training: true, trackRunningStatistics: false, format: Format);
        pair.ExpectFailure<InvalidOperationException>(l => l.NumBatchesTracked = 3, pair.Output, paramName: null);
    }

    [Theory]
    [InlineData(2, 0)]
    [InlineData(3, -2)]
    [InlineData(4, -100)]
    [InlineData(5, int.MinValue)]
    public void MaxDegreeOfParallelism_ZeroOrBelowMinusOne_ThrowsOutOfRange(int rank, int value)
    {
        var pair = new TrainedPair<T>(rank, training: true, format: Format);
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
    [InlineData(-1)]
    [InlineData(2)]
    [InlineData(int.MaxValue)]
    public void MemoryFormat_UndefinedValue_ThrowsOutOfRange_AndKeepsTheFormat(int value)
    {
        var pair = new TrainedPair<T>(4, training: true, format: Format);
        pair.ExpectFailure<ArgumentOutOfRangeException>(
            layer => layer.MemoryFormat = (BatchNormMemoryFormat)value, pair.Output, "value", "ChannelsFirst or ChannelsLast");
        Assert.Equal(Format, pair.Layer.MemoryFormat);
    }

    [Theory]
    [MemberData(nameof(ErrorTestCases.WrongRanks), MemberType = typeof(ErrorTestCases))]
    public void Forward_WrongRank_Throws(int layerRank, int[] shape)
    {
        foreach (bool training in new[] { true, false })
        {
            var pair = new TrainedPair<T>(layerRank, training, format: Format);
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
            var pair = new TrainedPair<T>(rank, training, format: Format);
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
        var pair = new TrainedPair<T>(rank, training, format: Format);
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
        var pair = new TrainedPair<T>(rank, training, format: Format);
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
            var pair = new TrainedPair<T>(rank, training, format: Format);
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
            var pair = new TrainedPair<T>(shape.Length, training, format: Format);
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
            var pair = new TrainedPair<T>(rank, training, format: Format);
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
        var pair = new TrainedPair<T>(rank, training, format: Format);
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
        var pair = new TrainedPair<T>(shape.Length, training: mode != "eval-untracked", trackRunningStatistics: mode == "train", format: Format);
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
        var pair = new TrainedPair<T>(shape.Length, training: false, format: Format);
        T[] input = Values<T>(0.5, -1, 2);
        var output = new T[3];
        pair.Layer.Forward(input, shape, output);
        BatchNormBase<T> layer = pair.Layer;
        double[] invStd = Array.ConvertAll(TestData.ToDouble<T>(layer.RunningVariance), v => ReferenceBatchNorm.InvStd(v, layer.Epsilon));
        double[] expected = ReferenceBatchNorm.Normalize(
            TestData.ToDouble<T>(input), [1, Channels], TestData.ToDouble<T>(layer.RunningMean), invStd, TestData.ToDouble<T>(layer.Weight), TestData.ToDouble<T>(layer.Bias));
        for (int c = 0; c < Channels; c++)
        {
            Expect.Known(expected[c], output[c], $"output[{c}]");
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
        layer.MemoryFormat = Format;
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
            var pair = new TrainedPair<T>(rank, training, format: Format);
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
            var pair = new TrainedPair<T>(rank, training, format: Format);
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
        var pair = new TrainedPair<T>(rank, training, format: Format);
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
            var pair = new TrainedPair<T>(rank, training, format: Format);
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
        var pair = new TrainedPair<T>(rank, training, format: Format);
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
        var pair = new TrainedPair<T>(rank, training, format: Format);
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
        var pair = new TrainedPair<T>(rank, training, format: Format);
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
        var pair = new TrainedPair<T>(rank, training: true, format: Format);
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
        var pair = new TrainedPair<T>(rank, training: true, format: Format);
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
        var pair = new TrainedPair<T>(rank, training: true, format: Format);
        pair.Layer.NonFiniteStatisticsPolicy = NonFiniteStatisticsPolicy.Throw;
        pair.Twin.NonFiniteStatisticsPolicy = NonFiniteStatisticsPolicy.Throw;
        T[] input = RandomValues<T>(pair.Input.Length, 51, 1, 2);
        int spatial = ValuesPerChannel(pair.Shape) / pair.Shape[0];
        input[IndexOf(pair.Shape, 2, 1, spatial - 1, Format)] = T.CreateChecked(bad);  // sample 2, channel 1, last position
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
            var pair = new TrainedPair<T>(rank, training: !track, trackRunningStatistics: track, format: Format);
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
        var pair = new TrainedPair<T>(rank, training: true, format: Format);
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
        var pair = new TrainedPair<T>(rank, training: true, momentum: cumulative ? null : 0.1, format: Format);
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

/// <summary>The same errors, and the same untouched state, with channels-last data.</summary>
public sealed class LayerErrorTestsChannelsLastFloat : LayerErrorTests<float>
{
    protected override BatchNormMemoryFormat Format => BatchNormMemoryFormat.ChannelsLast;
}

public sealed class LayerErrorTestsChannelsLastDouble : LayerErrorTests<double>
{
    protected override BatchNormMemoryFormat Format => BatchNormMemoryFormat.ChannelsLast;
}

/// <summary>Layers of an element type other than float and double.</summary>
public sealed class LayerElementTypeErrorTests
{
    [Fact]
    public void Layers_OfHalf_ThrowNotSupported()
    {
        Assert.Contains("Half", Assert.Throws<NotSupportedException>(() => new BatchNorm1d<Half>(3)).Message, StringComparison.Ordinal);
        Assert.Contains("Half", Assert.Throws<NotSupportedException>(() => new BatchNorm2d<Half>(3)).Message, StringComparison.Ordinal);
        Assert.Contains("Half", Assert.Throws<NotSupportedException>(() => new BatchNorm3d<Half>(3)).Message, StringComparison.Ordinal);
    }
}
