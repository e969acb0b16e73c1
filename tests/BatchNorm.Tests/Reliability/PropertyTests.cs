using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Numerics;
using CsCheck;
using Xunit;
using Xunit.Abstractions;

namespace BatchNorm.Tests.Reliability;

/// <summary>One generated layer configuration and its data (the data is drawn from <see cref="Seed"/>, so a case prints small).</summary>
public sealed record LayerCase(
    int[] Shape, double Epsilon, double? Momentum, bool Affine, bool Track, int Seed, double Offset, double Spread, bool[] Steps)
{
    public int Length => TestData.Length(Shape);

    public int ValuesPerChannel => Length / Shape[1];

    public override string ToString() =>
        string.Create(
            CultureInfo.InvariantCulture,
            $"shape [{string.Join(", ", Shape)}], eps {Epsilon:R}, momentum {(Momentum is double m ? m.ToString("R", CultureInfo.InvariantCulture) : "null")}, affine {Affine}, track {Track}, seed {Seed}, x = {Offset:R} + {Spread:R} * N(0, 1), steps (training?) [{string.Join(", ", Steps)}]");
}

/// <summary>Generators of shapes (ranks 2–5, size-1 and large-prime dimensions), hyperparameters and data.</summary>
internal static class Gens
{
    /// <summary>Dimensions: mostly small, often 1, sometimes a large prime.</summary>
    public static readonly Gen<int> Dimension =
        Gen.Frequency((6, Gen.Int[1, 6]), (2, Gen.Const(1)), (1, Gen.OneOf(61, 127, 257, 521, 1031)));

    /// <summary>Channels: mostly few, sometimes across the kernels' 64-channel chunk boundary.</summary>
    public static readonly Gen<int> ChannelCount =
        Gen.Frequency((6, Gen.Int[1, 5]), (1, Gen.OneOf(13, 63, 64, 65, 67)));

    public static readonly Gen<double> Epsilon = Gen.OneOf(0.0, 1e-5, 1e-3, 0.1, 1.0);

    public static readonly Gen<double?> Momentum = Gen.OneOf<double?>(null, 0.0, 0.1, 0.5, 1.0);

    public static readonly Gen<double> Offset = Gen.OneOf(0.0, -3.0, 5.0, 100.0, -1000.0);

    public static readonly Gen<double> Spread = Gen.OneOf(0.01, 1.0, 3.0, 50.0);

    /// <summary>Shapes of rank 2 to 5 with at most <paramref name="maxElements"/> elements and at least <paramref name="minPerChannel"/> values per channel.</summary>
    public static Gen<int[]> Shape(int maxElements, int minPerChannel) =>
        (from rank in Gen.Int[2, 5]
         from n in Dimension
         from c in ChannelCount
         from spatial in Dimension.Array[rank - 2]
         select new[] { n, c }.Concat(spatial).ToArray())
        .Where(s => (long)TestData.Length(s) <= maxElements && TestData.Length(s) / s[1] >= minPerChannel);

    public static Gen<LayerCase> Case(int maxElements = 6000, int minPerChannel = 2, int maxSteps = 3, Gen<double>? epsilon = null) =>
        from shape in Shape(maxElements, minPerChannel)
        from eps in epsilon ?? Epsilon
        from momentum in Momentum
        from affine in Gen.Bool
        from track in Gen.Bool
        from seed in Gen.Int[0, 1_000_000]
        from offset in Offset
        from spread in Spread
        from steps in Gen.Bool.Array[1, maxSteps]
        select new LayerCase(shape, eps, momentum, affine, track, seed, offset, spread, steps);
}

/// <summary>
/// Property-based tests (CsCheck) of the layers against the double reference, over generated ranks, shapes,
/// hyperparameters, modes and data. On failure CsCheck shrinks the case and its message gives the seed
/// (reproduce with the environment variable <c>CsCheck_Seed</c>). <c>BATCHNORM_LONG_PROPERTIES=1</c> runs 100× more cases.
/// </summary>
public abstract class PropertyTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly ITestOutputHelper _output;

    protected PropertyTests(ITestOutputHelper output) => _output = output;

    /// <summary>The unit roundoff of <typeparamref name="T"/>.</summary>
    private static double Epsilon => typeof(T) == typeof(float) ? Math.Pow(2, -24) : Math.Pow(2, -53);

    /// <summary>
    /// With weight 1 and bias 0, a training forward's output has, per channel, mean 0 and biased variance
    /// <c>var / (var + eps)</c> (var: the reference's batch variance): within 64 units of roundoff of the output's
    /// magnitude, plus 64 double roundoffs of |mean| · invstd (x − mean is rounded on the scale of the mean).
    /// </summary>
    [Fact]
    public void TrainingOutput_PerChannel_HasMeanZero_AndVarianceVarOverVarPlusEps()
    {
        PropertyRuns.Sample(
            Gens.Case(),
            c =>
            {
                BatchNormBase<T> layer = TestData.CreateLayer<T>(c.Shape.Length, c.Shape[1], c.Epsilon, c.Momentum, c.Affine, c.Track);
                var reference = new ReferenceBatchNorm(c.Shape[1], c.Epsilon, c.Momentum, c.Affine, c.Track);
                T[] x = TestData.Gaussian<T>(c.Seed, c.Length, c.Offset, c.Spread);
                var y = new T[x.Length];
                layer.Forward(x, c.Shape, y);
                reference.Forward(TestData.ToDouble<T>(x), c.Shape);
                (int n, int channels, int s) = ReferenceBatchNorm.View(c.Shape);
                for (int ch = 0; ch < channels; ch++)
                {
                    double sum = 0, max = 0;
                    foreach (double v in Channel(y, n, channels, s, ch))
                    {
                        sum += v;
                        max = Math.Max(max, Math.Abs(v));
                    }

                    double mean = sum / c.ValuesPerChannel, squares = 0;
                    foreach (double v in Channel(y, n, channels, s, ch))
                    {
                        squares += (v - mean) * (v - mean);
                    }

                    double variance = squares / c.ValuesPerChannel;
                    double expectedVariance = reference.BatchVar[ch] / (reference.BatchVar[ch] + c.Epsilon);
                    // x - mean is rounded on the scale of |mean|: relative to the channel's std, that is |mean| * invstd.
                    double offsetTerm = 64 * Math.Pow(2, -53) * Math.Abs(reference.BatchMean[ch]) * reference.UsedInvStd[ch];
                    double meanBound = (64 * Epsilon * Math.Max(1, max)) + offsetTerm;
                    double varianceBound = (64 * Epsilon * Math.Max(1, max * max)) + (2 * offsetTerm * Math.Max(1, max));
                    Assert.True(Math.Abs(mean) <= meanBound, $"channel {ch}: output mean {mean:R}, expected 0 within {meanBound:E3}");
                    Assert.True(
                        Math.Abs(variance - expectedVariance) <= varianceBound,
                        $"channel {ch}: output variance {variance:R}, expected {expectedVariance:R} within {varianceBound:E3}");
                }
            },
            ciIterations: 150,
            _output.WriteLine);
    }

    /// <summary>
    /// A few steps (training or eval forward with random weight and bias, backward with random dy): outputs, running
    /// statistics, input gradients and accumulated parameter gradients match the reference within <see cref="Tolerances"/>.
    /// </summary>
    [Fact]
    public void ForwardRunningStatisticsAndGradients_MatchReference()
    {
        PropertyRuns.Sample(
            Gens.Case(),
            c =>
            {
                var pair = new LayerPair<T>(c.Shape, c.Epsilon, c.Momentum, c.Affine, c.Track);
                pair.RandomizeParameters(c.Seed + 1);
                var scales = new GradientScales(c.Shape[1]);
                for (int step = 0; step < c.Steps.Length; step++)
                {
                    pair.Train(c.Steps[step]);
                    T[] x = TestData.Gaussian<T>(c.Seed + (10 * step), c.Length, c.Offset, c.Spread);
                    T[] dy = TestData.Gaussian<T>(c.Seed + (10 * step) + 5, c.Length);
                    ForwardAndCompare(pair.Layer, pair.Reference, x, c.Shape, pair.Tolerance, $"step {step}");
                    var dx = new T[x.Length];
                    double[] expected = pair.Reference.Backward(TestData.ToDouble<T>(x), c.Shape, TestData.ToDouble<T>(dy));
                    pair.Layer.Backward(x, c.Shape, dy, dx);
                    Expect.Close<T>(expected, dx, pair.Tolerance, "gradInput", GradInputScale(pair.Reference, dy));
                    scales.Add(pair.Reference, x, dy, c.Shape);
                    scales.AssertParameterGradients(pair.Reference, pair.Layer, pair.Tolerance, "after step " + step);
                }
            },
            ciIterations: 200,
            _output.WriteLine);
    }

    /// <summary>
    /// The input gradient of a training step sums to zero over each channel, and, with eps = 0, is orthogonal to the
    /// channel's x̂: |Σ dx| ≤ 32 u Σ |terms| and |Σ dx·x̂| ≤ 32 u Σ |terms|·X, where u is the unit roundoff, terms are
    /// the three parts of dx = w·invstd·(dy − mean(dy) − x̂·mean(dy·x̂)) in magnitude, and x̂ in them is counted at the
    /// scale X = |x̂| + (|x| + |mean|)·invstd on which x − mean is rounded.
    /// </summary>
    [Fact]
    public void TrainingInputGradient_SumsToZero_AndIsOrthogonalToXhatWhenEpsIsZero()
    {
        PropertyRuns.Sample(
            Gens.Case(epsilon: Gen.OneOf(0.0, 0.0, 1e-5, 0.5)),
            c =>
            {
                BatchNormBase<T> layer = TestData.CreateLayer<T>(c.Shape.Length, c.Shape[1], c.Epsilon, c.Momentum, c.Affine, c.Track);
                if (c.Affine)
                {
                    TestData.Convert<T>(TestData.Uniform(c.Seed + 2, c.Shape[1], -2, 2)).CopyTo(layer.Weight);
                    TestData.Convert<T>(TestData.Uniform(c.Seed + 3, c.Shape[1], -1, 1)).CopyTo(layer.Bias);
                }

                var reference = new ReferenceBatchNorm(c.Shape[1], c.Epsilon, c.Momentum, c.Affine, c.Track);
                T[] x = TestData.Gaussian<T>(c.Seed, c.Length, c.Offset, c.Spread);
                T[] dy = TestData.Gaussian<T>(c.Seed + 1, c.Length, 0.3, 2);
                var y = new T[x.Length];
                var dx = new T[x.Length];
                layer.Forward(x, c.Shape, y);
                layer.Backward(x, c.Shape, dy, dx);
                reference.Forward(TestData.ToDouble<T>(x), c.Shape);
                (int n, int channels, int s) = ReferenceBatchNorm.View(c.Shape);
                int m = c.ValuesPerChannel;
                for (int ch = 0; ch < channels; ch++)
                {
                    double mean = reference.UsedMean[ch], invStd = reference.UsedInvStd[ch];
                    double w = c.Affine ? double.CreateTruncating(layer.Weight[ch]) : 1;
                    double sumDy = 0, sumDyXhat = 0;
                    foreach (int at in Indices(n, channels, s, ch))
                    {
                        double dyv = double.CreateTruncating(dy[at]);
                        sumDy += dyv;
                        sumDyXhat += dyv * (double.CreateTruncating(x[at]) - mean) * invStd;
                    }

                    double sum = 0, dot = 0, sumMagnitude = 0, dotMagnitude = 0;
                    foreach (int at in Indices(n, channels, s, ch))
                    {
                        double xv = double.CreateTruncating(x[at]);
                        double xhat = (xv - mean) * invStd;

                        // x - mean is rounded on the scale of |x| + |mean|, not of the (smaller) deviation.
                        double xhatScale = Math.Abs(xhat) + ((Math.Abs(xv) + Math.Abs(mean)) * invStd);
                        double magnitude = Math.Abs(w * invStd) * (Math.Abs(double.CreateTruncating(dy[at])) + Math.Abs(sumDy / m) + (xhatScale * Math.Abs(sumDyXhat / m)));
                        double d = double.CreateTruncating(dx[at]);
                        sum += d;
                        dot += d * xhat;
                        sumMagnitude += magnitude;
                        dotMagnitude += magnitude * xhatScale;
                    }

                    double sumBound = 32 * Epsilon * sumMagnitude;
                    Assert.True(Math.Abs(sum) <= sumBound, $"channel {ch}: Σ dx = {sum:R}, expected 0 within {sumBound:E3}");
                    if (c.Epsilon == 0)
                    {
                        double dotBound = 32 * Epsilon * dotMagnitude;
                        Assert.True(Math.Abs(dot) <= dotBound, $"channel {ch}: Σ dx·x̂ = {dot:R}, expected 0 within {dotBound:E3}");
                    }
                }
            },
            ciIterations: 150,
            _output.WriteLine);
    }

    /// <summary>
    /// Model-based: any sequence of calls (train/eval switches, forwards of two batch sizes, backwards, resets,
    /// zero-grads, weight and bias edits, counter edits, and calls that must fail) leaves the layer equal to the
    /// reference model driven by the same sequence; a failing call changes nothing.
    /// </summary>
    [Fact]
    public void AnyCallSequence_LeavesLayerEqualToReferenceModel()
    {
        Gen<(LayerCase Case, Op[] Ops)> gen =
            from c in Gens.Case(maxElements: 3000, minPerChannel: 1, maxSteps: 1)
            from ops in GenOp.Array[1, 14]
            select (c, ops);
        PropertyRuns.Sample(gen, t => new ModelRun(t.Case).Run(t.Ops), ciIterations: 200, _output.WriteLine);
    }

    private static readonly Gen<Op> GenOp =
        from kind in Gen.Frequency(
            (6, Gen.Const(OpKind.Forward)), (5, Gen.Const(OpKind.Backward)), (2, Gen.Const(OpKind.Train)), (2, Gen.Const(OpKind.Eval)),
            (1, Gen.Const(OpKind.ZeroGrad)), (1, Gen.Const(OpKind.ResetParameters)), (1, Gen.Const(OpKind.ResetRunningStatistics)),
            (2, Gen.Const(OpKind.EditWeight)), (1, Gen.Const(OpKind.SetCounter)), (1, Gen.Const(OpKind.BackwardOtherShape)))
        from batch in Gen.OneOf(0, 1, 1, 2)
        from seed in Gen.Int[0, 100_000]
        select new Op(kind, batch, seed);

    /// <summary>The scale of dx's rounding, as <see cref="LayerPair{T}"/> takes it: max |w·invstd| · max |dy|.</summary>
    internal static double GradInputScale(ReferenceBatchNorm reference, T[] dy)
    {
        double maxFactor = 0, maxDy = 0;
        for (int c = 0; c < reference.NumFeatures; c++)
        {
            maxFactor = Math.Max(maxFactor, Math.Abs((reference.Affine ? reference.Weight[c] : 1) * reference.UsedInvStd[c]));
        }

        foreach (T g in dy)
        {
            maxDy = Math.Max(maxDy, Math.Abs(double.CreateTruncating(g)));
        }

        return maxFactor * maxDy;
    }

    /// <summary>
    /// Σ|dy| and Σ|dy·x̂| per channel over every backward since the last ZeroGrad: the scale on which the accumulated
    /// parameter gradients are rounded (they cancel, so |expected| alone can be far smaller than the rounding).
    /// </summary>
    internal sealed class GradientScales(int channels)
    {
        private readonly double[] _weight = new double[channels];
        private readonly double[] _bias = new double[channels];

        public void Clear()
        {
            Array.Clear(_weight);
            Array.Clear(_bias);
        }

        public void Add(ReferenceBatchNorm reference, T[] x, T[] dy, int[] shape)
        {
            (int n, int cs, int s) = ReferenceBatchNorm.View(shape);
            for (int c = 0; c < cs; c++)
            {
                foreach (int at in Indices(n, cs, s, c))
                {
                    double d = Math.Abs(double.CreateTruncating(dy[at]));
                    _bias[c] += d;
                    _weight[c] += d * Math.Abs(double.CreateTruncating(x[at]) - reference.UsedMean[c]) * reference.UsedInvStd[c];
                }
            }
        }

        public void AssertParameterGradients(ReferenceBatchNorm reference, BatchNormBase<T> layer, double tolerance, string context)
        {
            for (int c = 0; c < layer.WeightGradient.Length; c++)
            {
                // Rounded to T first: a gradient below T's range underflows to 0 in any implementation.
                double weightGradient = double.CreateTruncating(T.CreateTruncating(reference.WeightGrad[c]));
                double biasGradient = double.CreateTruncating(T.CreateTruncating(reference.BiasGrad[c]));
                Expect.Close<T>([weightGradient], [layer.WeightGradient[c]], tolerance, $"{context}: weight gradient[{c}]", _weight[c]);
                Expect.Close<T>([biasGradient], [layer.BiasGradient[c]], tolerance, $"{context}: bias gradient[{c}]", _bias[c]);
            }
        }
    }

    /// <summary>
    /// Runs the reference (first: it reads the input) and the layer forward; compares the output on the scale of its
    /// terms, max |x − mean|·|w·invstd| + |b| (a result that cancels against the bias is rounded on that scale), and the
    /// running statistics of this step; then gives the reference the layer's running statistics, rounded to T as the
    /// layer stores them, so that rounding does not accumulate across steps.
    /// </summary>
    internal static void ForwardAndCompare(BatchNormBase<T> layer, ReferenceBatchNorm reference, T[] x, int[] shape, double tolerance, string context) =>
        ForwardAndCompare(layer, reference, x, shape, new T[x.Length], tolerance, context);

    /// <inheritdoc cref="ForwardAndCompare(BatchNormBase{T}, ReferenceBatchNorm, T[], int[], double, string)"/>
    internal static void ForwardAndCompare(BatchNormBase<T> layer, ReferenceBatchNorm reference, ReadOnlySpan<T> input, int[] shape, Span<T> y, double tolerance, string context)
    {
        T[] x = input.ToArray();
        double[] expected = reference.Forward(TestData.ToDouble<T>(x), shape);
        layer.Forward(input, shape, y);
        (int n, int channels, int s) = ReferenceBatchNorm.View(shape);
        double scale = 0;
        for (int c = 0; c < channels; c++)
        {
            double factor = Math.Abs((reference.Affine ? reference.Weight[c] : 1) * reference.UsedInvStd[c]);
            double bias = reference.Affine ? Math.Abs(reference.Bias[c]) : 0;
            foreach (int at in Indices(n, channels, s, c))
            {
                scale = Math.Max(scale, (Math.Abs(double.CreateTruncating(x[at]) - reference.UsedMean[c]) * factor) + bias);
            }
        }

        // Rounded to T first: a result below T's range (eps = 1e300 in float, say) underflows to 0 in any implementation.
        Expect.Close<T>(TestData.ToDouble<T>(TestData.Convert<T>(expected)), y, tolerance, $"{context}: output", scale);
        Assert.True(reference.NumBatchesTracked == layer.NumBatchesTracked, $"{context}: NumBatchesTracked {layer.NumBatchesTracked}, expected {reference.NumBatchesTracked}");
        double maxX = 0;
        foreach (T v in x)
        {
            maxX = Math.Max(maxX, Math.Abs(double.CreateTruncating(v)));
        }

        // A batch mean that cancels (|mean| ≪ |x|) is rounded on the scale of the values summed.
        Expect.Close<T>(reference.RunningMean, layer.RunningMean, tolerance, $"{context}: running mean", layer.IsTraining ? maxX : 0);
        Expect.Close<T>(reference.RunningVar, layer.RunningVariance, tolerance, $"{context}: running variance");
        SyncRunningStatistics(layer, reference);
    }

    /// <summary>Gives the reference the layer's running statistics (rounded to T).</summary>
    internal static void SyncRunningStatistics(BatchNormBase<T> layer, ReferenceBatchNorm reference)
    {
        TestData.ToDouble<T>(layer.RunningMean).CopyTo(reference.RunningMean, 0);
        TestData.ToDouble<T>(layer.RunningVariance).CopyTo(reference.RunningVar, 0);
    }

    private static IEnumerable<double> Channel(T[] y, int n, int channels, int s, int ch)
    {
        foreach (int at in Indices(n, channels, s, ch))
        {
            yield return double.CreateTruncating(y[at]);
        }
    }

    internal static IEnumerable<int> Indices(int n, int channels, int s, int ch)
    {
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < s; j++)
            {
                yield return ((i * channels) + ch) * s + j;
            }
        }
    }

    public enum OpKind
    {
        Forward,
        Backward,
        Train,
        Eval,
        ZeroGrad,
        ResetParameters,
        ResetRunningStatistics,
        EditWeight,
        SetCounter,
        BackwardOtherShape,
    }

    /// <summary>One call; <see cref="Batch"/> picks the forward's batch size (0: the case's N, 1: a single sample, 2: N + 1).</summary>
    public sealed record Op(OpKind Kind, int Batch, int Seed)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Kind}({Batch}, {Seed})");
    }

    /// <summary>The layer and the reference model, driven by the same operations and compared after each.</summary>
    private sealed class ModelRun
    {
        private readonly LayerCase _case;
        private readonly BatchNormBase<T> _layer;
        private readonly ReferenceBatchNorm _model;
        private readonly double _tolerance = Tolerances.For<T>();
        private readonly GradientScales _scales;
        private int[]? _lastShape;

        public ModelRun(LayerCase c)
        {
            _case = c;
            _layer = TestData.CreateLayer<T>(c.Shape.Length, c.Shape[1], c.Epsilon, c.Momentum, c.Affine, c.Track);
            _model = new ReferenceBatchNorm(c.Shape[1], c.Epsilon, c.Momentum, c.Affine, c.Track);
            _scales = new GradientScales(c.Shape[1]);
        }

        public void Run(Op[] ops)
        {
            for (int i = 0; i < ops.Length; i++)
            {
                string context = $"after op {i} {ops[i]} of [{string.Join(", ", ops.AsEnumerable())}]";
                Apply(ops[i], context);
                AssertState(context);
            }
        }

        private void Apply(Op op, string context)
        {
            switch (op.Kind)
            {
                case OpKind.Train:
                    _layer.Train();
                    _model.Training = true;
                    break;
                case OpKind.Eval:
                    _layer.Eval();
                    _model.Training = false;
                    break;
                case OpKind.ZeroGrad:
                    _layer.ZeroGrad();
                    _model.ZeroGrad();
                    _scales.Clear();
                    break;
                case OpKind.ResetParameters:
                    _layer.ResetParameters();
                    _model.ResetParameters();
                    break;
                case OpKind.ResetRunningStatistics:
                    _layer.ResetRunningStatistics();
                    _model.ResetRunningStatistics();
                    break;
                case OpKind.EditWeight:
                    if (_case.Affine)
                    {
                        T[] w = TestData.Convert<T>(TestData.Uniform(op.Seed, _case.Shape[1], -2, 2));
                        T[] b = TestData.Convert<T>(TestData.Uniform(op.Seed + 1, _case.Shape[1], -1, 1));
                        w.CopyTo(_layer.Weight);
                        b.CopyTo(_layer.Bias);
                        TestData.ToDouble<T>(w).CopyTo(_model.Weight, 0);
                        TestData.ToDouble<T>(b).CopyTo(_model.Bias, 0);
                    }

                    break;
                case OpKind.SetCounter:
                    if (_case.Track)
                    {
                        _layer.NumBatchesTracked = op.Seed;
                        _model.NumBatchesTracked = op.Seed;
                    }
                    else
                    {
                        ExpectFailure<InvalidOperationException>(() => _layer.NumBatchesTracked = op.Seed + 1, context);
                    }

                    break;
                case OpKind.Forward:
                    Forward(op, context);
                    break;
                case OpKind.Backward:
                    Backward(op, _lastShape, context);
                    break;
                case OpKind.BackwardOtherShape:
                    if (_lastShape is not null)
                    {
                        int[] other = (int[])_lastShape.Clone();
                        other[0]++;
                        Backward(op, other, context);
                    }

                    break;
            }
        }

        private void Forward(Op op, string context)
        {
            int[] shape = (int[])_case.Shape.Clone();
            shape[0] = op.Batch switch { 1 => 1, 2 => shape[0] + 1, _ => shape[0] };
            int length = TestData.Length(shape);
            T[] x = TestData.Gaussian<T>(op.Seed, length, _case.Offset, _case.Spread);
            bool batchStatistics = _layer.IsTraining || !_case.Track;
            if (batchStatistics && length / shape[1] < 2)
            {
                var y = new T[length];
                ExpectFailure<ArgumentException>(() => _layer.Forward(x, shape, y), context);
                return;
            }

            ForwardAndCompare(_layer, _model, x, shape, _tolerance, context);
            _lastShape = shape;
        }

        private void Backward(Op op, int[]? shape, string context)
        {
            if (_lastShape is null)
            {
                int[] s = _case.Shape;
                int n = TestData.Length(s);
                ExpectFailure<InvalidOperationException>(() => _layer.Backward(new T[n], s, new T[n], new T[n]), context);
                return;
            }

            int length = TestData.Length(shape!);
            T[] x = TestData.Gaussian<T>(op.Seed, length, _case.Offset, _case.Spread);
            T[] dy = TestData.Gaussian<T>(op.Seed + 1, length);
            var dx = new T[length];
            if (!shape!.AsSpan().SequenceEqual(_lastShape))
            {
                ExpectFailure<ArgumentException>(() => _layer.Backward(x, shape, dy, dx), context);
                return;
            }

            double[] expected = _model.Backward(TestData.ToDouble<T>(x), shape!, TestData.ToDouble<T>(dy));
            _layer.Backward(x, shape, dy, dx);
            Expect.Close<T>(expected, dx, _tolerance, $"{context}: gradInput", GradInputScale(_model, dy));
            _scales.Add(_model, x, dy, shape!);
        }

        private void ExpectFailure<TException>(Action call, string context)
            where TException : Exception
        {
            var before = new LayerSnapshot<T>(_layer, default);
            Exception? thrown = Record.Exception(call);
            Assert.True(thrown is TException, $"{context}: expected {typeof(TException).Name}, got {thrown?.GetType().Name ?? "no exception"}: {thrown?.Message}");
            before.AssertSame(_layer, default, $"{context}: after the failed call");
        }

        private void AssertState(string context)
        {
            Assert.True(_model.Training == _layer.IsTraining, $"{context}: IsTraining");
            Assert.True(_model.NumBatchesTracked == _layer.NumBatchesTracked, $"{context}: NumBatchesTracked {_layer.NumBatchesTracked}, model {_model.NumBatchesTracked}");
            Expect.BitwiseEqual<T>(TestData.Convert<T>(_model.Weight), _layer.Weight, $"{context}: weight");
            Expect.BitwiseEqual<T>(TestData.Convert<T>(_model.Bias), _layer.Bias, $"{context}: bias");
            Expect.BitwiseEqual<T>(TestData.Convert<T>(_model.RunningMean), _layer.RunningMean, $"{context}: running mean (synced after each forward)");
            Expect.BitwiseEqual<T>(TestData.Convert<T>(_model.RunningVar), _layer.RunningVariance, $"{context}: running variance (synced after each forward)");
            _scales.AssertParameterGradients(_model, _layer, _tolerance, context);
        }
    }
}

public sealed class PropertyTestsFloat(ITestOutputHelper output) : PropertyTests<float>(output)
{
}

public sealed class PropertyTestsDouble(ITestOutputHelper output) : PropertyTests<double>(output)
{
}
