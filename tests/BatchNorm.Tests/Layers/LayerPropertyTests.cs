using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Numerics;
using CsCheck;
using Xunit;
using Xunit.Abstractions;

namespace BatchNorm.Tests.Layers;

/// <summary>
/// Property-based tests (CsCheck) of the layers against the double reference, over generated ranks, shapes,
/// hyperparameters, modes and data. On failure CsCheck shrinks the case and its message gives the seed
/// (reproduce with the environment variable <c>CsCheck_Seed</c>). <c>BATCHNORM_LONG_PROPERTIES=1</c> runs 100× more cases.
/// </summary>
public abstract class LayerPropertyTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly ITestOutputHelper _output;

    protected LayerPropertyTests(ITestOutputHelper output) => _output = output;

    /// <summary>The unit roundoff of <typeparamref name="T"/>.</summary>
    private static double Epsilon => Tolerances.UnitRoundoff<T>();

    /// <summary>
    /// With weight 1 and bias 0, a training forward's output has, per channel, mean 0 and biased variance
    /// <c>var / (var + eps)</c> (var: the reference's batch variance): within <see cref="Tolerances.OutputMomentRoundoffs"/> units of roundoff of the output's
    /// magnitude, plus as many double roundoffs of |mean| · invstd (x − mean is rounded on the scale of the mean).
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
                    double offsetTerm = Tolerances.OutputMomentRoundoffs * Tolerances.UnitRoundoff<double>() * Math.Abs(reference.BatchMean[ch]) * reference.UsedInvStd[ch];
                    double meanBound = (Tolerances.OutputMomentRoundoffs * Epsilon * Math.Max(1, max)) + offsetTerm;
                    double varianceBound = (Tolerances.OutputMomentRoundoffs * Epsilon * Math.Max(1, max * max)) + (2 * offsetTerm * Math.Max(1, max));
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
                var scales = new ScaledComparison<T>.GradientScales(c.Shape[1]);
                for (int step = 0; step < c.Steps.Length; step++)
                {
                    pair.Train(c.Steps[step]);
                    T[] x = TestData.Gaussian<T>(c.Seed + (10 * step), c.Length, c.Offset, c.Spread);
                    T[] dy = TestData.Gaussian<T>(c.Seed + (10 * step) + 5, c.Length);
                    ScaledComparison<T>.ForwardAndCompare(pair.Layer, pair.Reference, x, c.Shape, pair.Tolerance, $"step {step}");
                    var dx = new T[x.Length];
                    double[] expected = pair.Reference.Backward(TestData.ToDouble<T>(x), c.Shape, TestData.ToDouble<T>(dy));
                    pair.Layer.Backward(x, c.Shape, dy, dx);
                    Expect.Close<T>(expected, dx, pair.Tolerance, "gradInput", ScaledComparison<T>.GradInputScale(pair.Reference, dy));
                    scales.Add(pair.Reference, x, dy, c.Shape);
                    scales.AssertParameterGradients(pair.Reference, pair.Layer, pair.Tolerance, "after step " + step);
                }
            },
            ciIterations: 200,
            _output.WriteLine);
    }

    /// <summary>
    /// The input gradient of a training step sums to zero over each channel, and, with eps = 0, is orthogonal to the
    /// channel's x̂: |Σ dx| ≤ k u Σ |terms| and |Σ dx·x̂| ≤ k u Σ |terms|·X (k = <see cref="Tolerances.GradientSumRoundoffs"/>), where u is the unit roundoff, terms are
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
                (double[] sumDys, double[] sumDyXhats) = ReferenceBatchNorm.GradientSums(
                    TestData.ToDouble<T>(x), c.Shape, TestData.ToDouble<T>(dy), reference.UsedMean, reference.UsedInvStd);
                for (int ch = 0; ch < channels; ch++)
                {
                    double mean = reference.UsedMean[ch], invStd = reference.UsedInvStd[ch];
                    double w = c.Affine ? double.CreateTruncating(layer.Weight[ch]) : 1;
                    double sumDy = sumDys[ch], sumDyXhat = sumDyXhats[ch];

                    double sum = 0, dot = 0, sumMagnitude = 0, dotMagnitude = 0;
                    foreach (int at in ScaledComparison<T>.Indices(n, channels, s, ch))
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

                    double sumBound = Tolerances.GradientSumRoundoffs * Epsilon * sumMagnitude;
                    Assert.True(Math.Abs(sum) <= sumBound, $"channel {ch}: Σ dx = {sum:R}, expected 0 within {sumBound:E3}");
                    if (c.Epsilon == 0)
                    {
                        double dotBound = Tolerances.GradientSumRoundoffs * Epsilon * dotMagnitude;
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

    private static IEnumerable<double> Channel(T[] y, int n, int channels, int s, int ch)
    {
        foreach (int at in ScaledComparison<T>.Indices(n, channels, s, ch))
        {
            yield return double.CreateTruncating(y[at]);
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
        private readonly ScaledComparison<T>.GradientScales _scales;
        private int[]? _lastShape;
        private T[]? _lastInput;

        public ModelRun(LayerCase c)
        {
            _case = c;
            _layer = TestData.CreateLayer<T>(c.Shape.Length, c.Shape[1], c.Epsilon, c.Momentum, c.Affine, c.Track);
            _model = new ReferenceBatchNorm(c.Shape[1], c.Epsilon, c.Momentum, c.Affine, c.Track);
            _scales = new ScaledComparison<T>.GradientScales(c.Shape[1]);
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

            ScaledComparison<T>.ForwardAndCompare(_layer, _model, x, shape, _tolerance, context);
            _lastShape = shape;
            _lastInput = x;
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
            T[] other = TestData.Gaussian<T>(op.Seed, length, _case.Offset, _case.Spread);
            T[] dy = TestData.Gaussian<T>(op.Seed + 1, length);
            var dx = new T[length];
            if (!shape!.AsSpan().SequenceEqual(_lastShape))
            {
                ExpectFailure<ArgumentException>(() => _layer.Backward(other, shape, dy, dx), context);
                return;
            }

            // Backward must be given the input the last Forward normalized; any other input is refused unchanged.
            if (op.Seed % 2 == 1 && length > 0)
            {
                ExpectFailure<InvalidOperationException>(() => _layer.Backward(other, shape, dy, dx), context);
                return;
            }

            T[] x = _lastInput!;

            double[] expected = _model.Backward(TestData.ToDouble<T>(x), shape!, TestData.ToDouble<T>(dy));
            _layer.Backward(x, shape, dy, dx);
            Expect.Close<T>(expected, dx, _tolerance, $"{context}: gradInput", ScaledComparison<T>.GradInputScale(_model, dy));
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

public sealed class LayerPropertyTestsFloat(ITestOutputHelper output) : LayerPropertyTests<float>(output)
{
}

public sealed class LayerPropertyTestsDouble(ITestOutputHelper output) : LayerPropertyTests<double>(output)
{
}
