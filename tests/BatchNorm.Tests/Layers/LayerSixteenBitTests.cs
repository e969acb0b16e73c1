using System;
using System.Numerics;
using Xunit;

namespace BatchNorm.Tests.Layers;

/// <summary>
/// 16-bit data (<typeparamref name="TData"/>: <see cref="Half"/> or <see cref="BFloat16"/>) on a layer of type
/// <typeparamref name="T"/>: against a twin layer of type <typeparamref name="T"/> fed the widened values (running
/// statistics and parameter gradients the same bits; outputs and input gradients its results rounded once, by the test's
/// own rounding), and against the double reference fed the widened values (within one 16-bit rounding and
/// <see cref="Tolerances.For{T}"/>).
/// </summary>
public abstract class LayerSixteenBitTests<T, TData>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
    where TData : unmanaged
{
    /// <summary>
    /// (N, C) with one and several row blocks, short runs on the column path, runs on the run path, fused runs longer than
    /// a staged piece (5184 values), and channels-last data; every one with affine and tracking on and off.
    /// </summary>
    public static TheoryData<int[], BatchNormMemoryFormat, bool, bool> Cases
    {
        get
        {
            var data = new TheoryData<int[], BatchNormMemoryFormat, bool, bool>();
            int[][] shapes = [[6, 5], [300, 20], [4, 3, 7], [2, 70, 3, 3], [3, 4, 5, 6], [2, 2, 72, 72], [2, 3, 4, 3, 5]];
            foreach (int[] shape in shapes)
            {
                foreach ((bool affine, bool track) in new[] { (true, true), (false, true), (true, false), (false, false) })
                {
                    data.Add(shape, BatchNormMemoryFormat.ChannelsFirst, affine, track);
                }
            }

            data.Add([2, 70, 3, 3], BatchNormMemoryFormat.ChannelsLast, true, true);
            data.Add([4, 64, 9, 9], BatchNormMemoryFormat.ChannelsLast, true, false);
            data.Add([2, 5, 4, 3, 2], BatchNormMemoryFormat.ChannelsLast, false, true);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TrainingAndEvaluation_AreTheWidenedLayersResultsRoundedOnce(int[] shape, BatchNormMemoryFormat format, bool affine, bool track)
    {
        var twins = new Twins(shape, format, affine, track);
        for (int step = 0; step < 2; step++)
        {
            twins.Step(SixteenBit.Random<TData>(10 + step, twins.Length, 1.5, 2), SixteenBit.Random<TData>(20 + step, twins.Length));
        }

        twins.Train(false);
        twins.Step(SixteenBit.Random<TData>(30, twins.Length, -0.5, 3), SixteenBit.Random<TData>(31, twins.Length));
    }

    [Fact]
    public void EveryChannelCount_From1To130_MatchesTheWidenedLayer()
    {
        for (int c = 1; c <= 130; c++)
        {
            foreach (int[] shape in new[] { new[] { 3, c }, new[] { 2, c, 5 } })
            {
                var twins = new Twins(shape, BatchNormMemoryFormat.ChannelsFirst, affine: true, track: true);
                twins.Step(SixteenBit.Random<TData>(c, twins.Length, 1, 2), SixteenBit.Random<TData>(c + 1, twins.Length));
            }
        }
    }

    [Fact]
    public void NonFiniteValues_BehaveAsForTheWidenedLayer()
    {
        int[] shape = [4, 3, 5];
        var twins = new Twins(shape, BatchNormMemoryFormat.ChannelsFirst, affine: true, track: true);
        TData[] x = SixteenBit.Random<TData>(1, twins.Length);
        x[2] = SixteenBit.Round<TData>(double.NaN);
        x[7] = SixteenBit.Round<TData>(double.PositiveInfinity);
        twins.Step(x, SixteenBit.Random<TData>(2, twins.Length));
        twins.Train(false);
        twins.Step(x, SixteenBit.Random<TData>(3, twins.Length));
    }

    [Theory]
    [InlineData(new[] { 16, 6, 10, 10 })]
    [InlineData(new[] { 300, 20 })]
    public void Results_MatchTheDoubleReference(int[] shape)
    {
        BatchNormBase<T> layer = TestData.CreateLayer<T>(shape.Length, shape[1]);
        var reference = new ReferenceBatchNorm(shape[1]);
        TData[] x = SixteenBit.Random<TData>(5, TestData.Length(shape), 3, 2), dy = SixteenBit.Random<TData>(6, x.Length);
        TData[] y = new TData[x.Length], dx = new TData[x.Length];
        SixteenBit.Forward(layer, x, shape, y);
        SixteenBit.Backward(layer, x, shape, dy, dx);
        double[] wideX = SixteenBit.Widen<TData, double>(x), wideDy = SixteenBit.Widen<TData, double>(dy);
        double[] expectedY = reference.Forward(wideX, shape), expectedDx = reference.Backward(wideX, shape, wideDy);
        Within16BitRounding(expectedY, y, "output");
        Within16BitRounding(expectedDx, dx, "gradInput");
        Expect.Close<T>(reference.RunningMean, Read(layer.RunningMean), Tolerances.For<T>(), "running mean");
        Expect.Close<T>(reference.RunningVar, Read(layer.RunningVariance), Tolerances.For<T>(), "running variance");
        Expect.Close<T>(reference.WeightGrad, Read(layer.WeightGradient), Tolerances.For<T>(), "weight gradient", scale: Math.Sqrt(x.Length));
    }

    [Fact]
    public void EveryThreadCount_GivesTheSameBits()
    {
        int[] shape = [8, 16, 40, 40];
        TData[] x = SixteenBit.Random<TData>(7, TestData.Length(shape), 1, 2), dy = SixteenBit.Random<TData>(8, x.Length);
        TData[]? firstY = null, firstDx = null;
        foreach (int threads in new[] { 1, 2, -1 })
        {
            BatchNormBase<T> layer = TestData.CreateLayer<T>(4, 16);
            layer.MaxDegreeOfParallelism = threads;
            TData[] y = new TData[x.Length], dx = new TData[x.Length];
            SixteenBit.Forward(layer, x, shape, y);
            SixteenBit.Backward(layer, x, shape, dy, dx);
            Expect.BitwiseEqual<TData>(firstY ??= y, y, "output");
            Expect.BitwiseEqual<TData>(firstDx ??= dx, dx, "gradInput");
        }
    }

    [Fact]
    public void BadArguments_ThrowAndChangeNothing()
    {
        int[] shape = [4, 3, 5];
        BatchNormBase<T> layer = TestData.CreateLayer<T>(3, 3);
        TData[] x = SixteenBit.Random<TData>(1, 60), y = new TData[60];
        T[] mean = layer.RunningMean.ToArray();
        var shortOutput = Assert.Throws<ArgumentException>(() => SixteenBit.Forward(layer, x, shape, new TData[59]));
        Assert.Equal("output", shortOutput.ParamName);
        Assert.Throws<ArgumentException>(() => SixteenBit.Forward(layer, x, [4, 2, 5], new TData[40]));
        Assert.Throws<ArgumentException>(() => SixteenBit.Forward(layer, x, shape, x.AsSpan(1, 59)));
        Assert.Throws<InvalidOperationException>(() => SixteenBit.Backward(layer, x, shape, y, new TData[60]));
        Expect.BitwiseEqual<T>(mean, layer.RunningMean.ToArray(), "running mean");

        SixteenBit.Forward(layer, x, shape, y);
        TData[] changed = (TData[])x.Clone();
        changed[1] = SixteenBit.Round<TData>(SixteenBit.ToDouble(changed[1]) + 1);
        var message = Assert.Throws<InvalidOperationException>(() => SixteenBit.Backward(layer, changed, shape, y, new TData[60]));
        Assert.Contains("element 1 ", message.Message);
        Assert.Throws<ArgumentException>(() => SixteenBit.Backward(layer, x, shape, y, new TData[59]));
    }

    [Fact]
    public void TheRestOfTheCoreContract_HoldsFor16BitData()
    {
        int[] shape = [4, 3, 5];
        BatchNormBase<T> layer = TestData.CreateLayer<T>(3, 3);
        TData[] x = SixteenBit.Random<TData>(1, 60), y = new TData[60], dx = new TData[60];
        T[] mean = layer.RunningMean.ToArray();

        // A wrong rank, a negative dimension, a refused non-finite batch: each names what was wrong, and nothing changes.
        Assert.Equal("shape", Assert.Throws<ArgumentException>(() => SixteenBit.Forward(layer, x, [4, 3, 5, 1, 1, 1], y)).ParamName);
        Assert.Throws<ArgumentException>(() => SixteenBit.Forward(layer, x, [-4, 3, 5], y));
        layer.NonFiniteStatisticsPolicy = NonFiniteStatisticsPolicy.Throw;
        TData[] poisoned = (TData[])x.Clone();
        poisoned[7] = SixteenBit.Round<TData>(double.NaN);
        Assert.Contains("channel 1", Assert.Throws<ArgumentException>(() => SixteenBit.Forward(layer, poisoned, shape, y)).Message);
        Expect.BitwiseEqual<T>(mean, layer.RunningMean.ToArray(), "running mean");
        Assert.Equal(0L, layer.NumBatchesTracked);

        // The backward: another shape, and a gradient partly overlapping the output gradient.
        SixteenBit.Forward(layer, x, shape, y);
        Assert.Equal("shape", Assert.Throws<ArgumentException>(() => SixteenBit.Backward(layer, x, [4, 3, 4, 1], y, dx)).ParamName);
        TData[] shared = new TData[61];
        Assert.Throws<ArgumentException>(() => SixteenBit.Backward(layer, x, shape, shared.AsSpan(0, 60), shared.AsSpan(1, 60)));
        Assert.All(layer.WeightGradient.ToArray(), g => Assert.Equal(T.Zero, g));
    }

    private static void Within16BitRounding(double[] expected, TData[] actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            double a = SixteenBit.ToDouble(actual[i]), bound = (SixteenBit.UnitRoundoff<TData>() + (2 * Tolerances.For<T>())) * Math.Max(1, Math.Abs(expected[i]));
            Assert.True(Math.Abs(a - expected[i]) <= bound, $"{what}[{i}]: expected {expected[i]:R}, got {a:R} (error {Math.Abs(a - expected[i]):E3} > {bound:E3}).");
        }
    }

    private static T[] Read(ReadOnlySpan<T> values) => values.ToArray();

    /// <summary>A layer fed 16-bit data and its twin of type T fed the widened values, with the same parameters.</summary>
    private sealed class Twins
    {
        private readonly int[] _shape;
        private readonly BatchNormBase<T> _narrow;
        private readonly BatchNormBase<T> _wide;

        public Twins(int[] shape, BatchNormMemoryFormat format, bool affine, bool track)
        {
            _shape = shape;
            Length = TestData.Length(shape);
            _narrow = TestData.CreateLayer<T>(shape.Length, shape[1], affine: affine, trackRunningStatistics: track);
            _wide = TestData.CreateLayer<T>(shape.Length, shape[1], affine: affine, trackRunningStatistics: track);
            _narrow.MemoryFormat = _wide.MemoryFormat = format;
            if (affine)
            {
                T[] weight = TestData.Convert<T>(TestData.Uniform(3, shape[1], -0.5, 2.0)), bias = TestData.Convert<T>(TestData.Uniform(4, shape[1], -1, 1));
                weight.CopyTo(_narrow.Weight);
                weight.CopyTo(_wide.Weight);
                bias.CopyTo(_narrow.Bias);
                bias.CopyTo(_wide.Bias);
            }
        }

        public int Length { get; }

        public void Train(bool training)
        {
            _narrow.Train(training);
            _wide.Train(training);
        }

        public void Step(TData[] x, TData[] dy)
        {
            TData[] y = new TData[Length], dx = new TData[Length];
            T[] wideX = SixteenBit.Widen<TData, T>(x), wideDy = SixteenBit.Widen<TData, T>(dy), wideY = new T[Length], wideDx = new T[Length];
            SixteenBit.Forward(_narrow, x, _shape, y);
            _wide.Forward(wideX, _shape, wideY);
            Expect.BitwiseEqual<TData>(SixteenBit.Narrow<T, TData>(wideY), y, "output");
            Expect.BitwiseEqual<T>(_wide.RunningMean, _narrow.RunningMean, "running mean");
            Expect.BitwiseEqual<T>(_wide.RunningVariance, _narrow.RunningVariance, "running variance");

            SixteenBit.Backward(_narrow, x, _shape, dy, dx);
            _wide.Backward(wideX, _shape, wideDy, wideDx);
            Expect.BitwiseEqual<TData>(SixteenBit.Narrow<T, TData>(wideDx), dx, "gradInput");
            Expect.BitwiseEqual<T>(_wide.WeightGradient, _narrow.WeightGradient, "weight gradient");
            Expect.BitwiseEqual<T>(_wide.BiasGradient, _narrow.BiasGradient, "bias gradient");
        }
    }
}

public sealed class LayerSixteenBitTestsFloatHalf : LayerSixteenBitTests<float, Half>;

public sealed class LayerSixteenBitTestsFloatBFloat16 : LayerSixteenBitTests<float, BFloat16>;

public sealed class LayerSixteenBitTestsDoubleHalf : LayerSixteenBitTests<double, Half>;

public sealed class LayerSixteenBitTestsDoubleBFloat16 : LayerSixteenBitTests<double, BFloat16>;
