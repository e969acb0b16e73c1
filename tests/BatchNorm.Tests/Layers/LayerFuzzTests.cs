using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics;
using Xunit;

namespace BatchNorm.Tests.Layers;

/// <summary>
/// Hostile use of the public API, seeded and bounded: random ranks, shapes (negative, zero, huge, overflowing int),
/// span lengths (short, long, empty), overlapping spans (slices of one array), hyperparameters (NaN, ±∞, negative, &gt; 1)
/// and call orders, on layers. Every call either succeeds and matches the reference, or throws
/// ArgumentException (or a subclass) / InvalidOperationException with every piece of state bit-identical to before;
/// nothing is written outside the output spans (sentinels around every span); NotSupportedException only for an
/// unsupported T.
/// </summary>
public abstract class LayerFuzzTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private static double Tolerance => HostileValues.Tolerance<T>();

    /// <summary>Layers: 60 seeded random layers (hostile constructor arguments) × 40 random calls each, against a reference model.</summary>
    [Fact]
    public void Layers_HostileCallSequences_SucceedAndMatchReference_OrThrowDocumentedWithNothingChanged()
    {
        long layers = PropertyRuns.Iterations(60);
        for (int i = 0; i < layers; i++)
        {
            int seed = 104729 * i + typeof(T).Name.Length;
            new LayerFuzz(new Random(seed), $"{typeof(T).Name} layer {i} (seed {seed})").Run(40);
        }
    }

    /// <summary>
    /// Backward (eval and training) of an empty tensor with a huge batch dimension — shape [400000000, 5, 0], no elements
    /// at all — returns within a second (it has nothing to do; the forward of the same shape takes microseconds).
    /// </summary>
    [Fact]
    public void Backward_OnEmptyTensorWithHugeBatch_ReturnsPromptly()
    {
        var layer = new BatchNorm1d<T>(5);
        // A loop over every (n, c) of this empty tensor takes tens of seconds; the bound leaves room for a noisy machine.
        int[] shape = [400_000_000, 5, 0];
        layer.Eval();
        var forward = System.Diagnostics.Stopwatch.StartNew();
        layer.Forward(ReadOnlySpan<T>.Empty, shape, Span<T>.Empty);
        forward.Stop();
        var backward = System.Diagnostics.Stopwatch.StartNew();
        layer.Backward(ReadOnlySpan<T>.Empty, shape, ReadOnlySpan<T>.Empty, Span<T>.Empty);
        backward.Stop();
        var kernel = System.Diagnostics.Stopwatch.StartNew();
        BatchNormKernels.BackwardTraining<T>(ReadOnlySpan<T>.Empty, ReadOnlySpan<T>.Empty, Span<T>.Empty, new BatchNormLayout(400_000_000, 5, 0), default, new double[5], new double[5], new T[5], new T[5]);
        kernel.Stop();
        Assert.True(
            backward.ElapsedMilliseconds < 1000 && kernel.ElapsedMilliseconds < 1000,
            $"an empty tensor of shape [{string.Join(", ", shape)}]: Forward {forward.ElapsedMilliseconds} ms, Backward {backward.ElapsedMilliseconds} ms, BackwardTraining kernel {kernel.ElapsedMilliseconds} ms; expected < 1000 ms");
        Assert.All(layer.WeightGradient.ToArray(), g => Assert.Equal(T.Zero, g));
    }

    private static double[] Converted(double[] values) => TestData.ToDouble<T>(TestData.Convert<T>(values));


    /// <summary>One random layer (hostile constructor arguments) driven by random calls next to a reference model.</summary>
    private sealed class LayerFuzz(Random random, string context)
    {
        private BatchNormBase<T>? _layer;
        private ReferenceBatchNorm? _model;
        private ScaledComparison<T>.GradientScales? _scales;
        private int[]? _lastShape;
        private int _rank;

        public void Run(int calls)
        {
            int numFeatures = new[] { 1, 2, 3, 5, 64, 65, 67, 0, -1, int.MinValue }[random.Next(10)];
            double epsilon = HostileValues.Epsilons[random.Next(HostileValues.Epsilons.Length)];
            double? momentum = HostileValues.Momenta[random.Next(HostileValues.Momenta.Length)];
            bool affine = random.Next(3) > 0, track = random.Next(3) > 0;
            _rank = random.Next(2, 6);
            bool valid = numFeatures > 0 && epsilon >= 0 && (momentum is null || (momentum >= 0 && momentum <= 1));
            string ctor = $"{context}: rank {_rank} layer({numFeatures}, {epsilon:R}, {momentum}, {affine}, {track})";
            try
            {
                _layer = TestData.CreateLayer<T>(_rank, numFeatures, epsilon, momentum, affine, track);
            }
            catch (Exception e)
            {
                Assert.True(e is ArgumentOutOfRangeException && !valid, $"{ctor}: threw {e.GetType().Name} ({e.Message})");
                return;
            }

            Assert.True(valid, $"{ctor} should have thrown ArgumentOutOfRangeException");
            _model = new ReferenceBatchNorm(numFeatures, epsilon, momentum, affine, track);
            _scales = new ScaledComparison<T>.GradientScales(numFeatures);
            for (int i = 0; i < calls; i++)
            {
                Step($"{ctor}, call {i}");
            }
        }

        private int[] Shape()
        {
            BatchNormBase<T> layer = _layer!;
            if (_lastShape is not null && random.Next(3) == 0)
            {
                return (int[])_lastShape.Clone();
            }

            int rank = random.Next(8) == 0 ? random.Next(0, 7) : _rank;
            var shape = new int[rank];
            for (int d = 0; d < rank; d++)
            {
                shape[d] = d == 1 && random.Next(6) > 0 ? layer.NumFeatures : HostileValues.Dimension(random);
            }

            return ClampEmpty(shape);
        }

        /// <summary>
        /// A shape of zero elements keeps its other dimensions at most 65536: huge ones there make Backward loop over
        /// every (n, c) pair (see <see cref="LayerFuzzTests{T}.Backward_OnEmptyTensorWithHugeBatch_ReturnsPromptly"/>),
        /// and the reference model does too.
        /// </summary>
        private static int[] ClampEmpty(int[] shape)
        {
            if (shape.Contains(0))
            {
                for (int d = 0; d < shape.Length; d++)
                {
                    shape[d] = Math.Min(shape[d], 1 << 16);
                }
            }

            return shape;
        }

        private void Step(string context)
        {
            BatchNormBase<T> layer = _layer!;
            ReferenceBatchNorm model = _model!;
            int op = random.Next(14);
            var arena = new SpanArena<T>(random);
            var snapshot = new LayerSnapshot<T>(layer, default);
            string what;
            Action call;
            Action? onSuccess = null;
            int[] outputs = [];
            switch (op)
            {
                case 0 or 1 or 2 or 3 or 4:
                {
                    int[] shape = Shape();
                    long product = shape.Aggregate(1L, (p, d) => Math.Clamp(p * Math.Max(d, 0), 0, 1L << 40));
                    int correct = (int)Math.Min(product, HostileValues.MaxElements + 8);
                    int input = arena.Add("input", false, random.Next(10) == 0 ? Math.Max(0, correct + random.Next(-1, 2)) : correct);
                    int output = arena.Add("output", false, random.Next(10) == 0 ? Math.Max(0, correct + random.Next(-1, 2)) : correct);
                    arena.Build();
                    outputs = [output];
                    what = $"{context}: Forward({(layer.IsTraining ? "train" : "eval")}, shape [{string.Join(", ", shape)}], {arena.Describe()})";
                    bool valid = shape.Length >= 2 && shape.All(d => d >= 0) && shape[1] == layer.NumFeatures && product <= int.MaxValue
                        && shape.Length == Math.Clamp(shape.Length, _rank == 3 ? 2 : _rank, _rank == 2 ? 3 : _rank)
                        && arena.Typed(input).Length == product && arena.Typed(output).Length == product
                        && (!(layer.IsTraining || !layer.TrackRunningStatistics) || product / shape[1] >= 2)
                        && (!arena.Typed(input).Overlaps(arena.Typed(output), out int offset) || (offset == 0 && arena.Typed(input).Length == arena.Typed(output).Length));
                    call = () => ScaledComparison<T>.ForwardAndCompare(layer, model, arena.Typed(input), shape, arena.Typed(output), Tolerance, what);
                    onSuccess = () =>
                    {
                        Assert.True(valid, $"{what}: succeeded, but should have thrown");
                        _lastShape = shape;
                    };
                    if (!valid)
                    {
                        call = () => layer.Forward(arena.Typed(input), shape, arena.Typed(output));
                    }
                    else if (!layer.IsTraining && layer.TrackRunningStatistics)
                    {
                        ScaledComparison<T>.SyncRunningStatistics(layer, model);
                    }
                    else if (model.NumBatchesTracked == long.MaxValue)
                    {
                        // The layer's counter saturates at long.MaxValue (the factor stays 1 / long.MaxValue); the model's would wrap.
                        model.NumBatchesTracked = long.MaxValue - 1;
                    }

                    break;
                }

                case 5 or 6 or 7 or 8:
                {
                    int[] shape = Shape();
                    long product = shape.Aggregate(1L, (p, d) => Math.Clamp(p * Math.Max(d, 0), 0, 1L << 40));
                    int correct = (int)Math.Min(product, HostileValues.MaxElements + 8);
                    int input = arena.Add("input", false, correct);
                    int gradOutput = arena.Add("gradOutput", false, random.Next(10) == 0 ? correct + 1 : correct);
                    int gradInput = arena.Add("gradInput", false, random.Next(8) == 0 ? 0 : random.Next(10) == 0 ? Math.Max(0, correct - 1) : correct);
                    arena.Build();
                    outputs = [gradInput];
                    what = $"{context}: Backward(shape [{string.Join(", ", shape)}], {arena.Describe()})";
                    bool valid = _lastShape is not null && shape.AsSpan().SequenceEqual(_lastShape) && arena.Typed(input).Length == product
                        && arena.Typed(gradOutput).Length == product && arena.Typed(gradInput).Length is 0 || arena.Typed(gradInput).Length == product;
                    valid &= _lastShape is not null && shape.AsSpan().SequenceEqual(_lastShape) && arena.Typed(gradOutput).Length == product;
                    call = () =>
                    {
                        T[] x = arena.Typed(input).ToArray(), dy = arena.Typed(gradOutput).ToArray();
                        Span<T> dxSpan = arena.Typed(gradInput);
                        layer.Backward(arena.Typed(input), shape, arena.Typed(gradOutput), dxSpan);
                        Assert.True(valid, $"{what}: succeeded, but should have thrown");
                        double[] expected = model.Backward(TestData.ToDouble<T>(x), shape, TestData.ToDouble<T>(dy));
                        if (!dxSpan.IsEmpty)
                        {
                            Expect.Close<T>(expected, dxSpan, Tolerance, $"{what}: gradInput", ScaledComparison<T>.GradInputScale(model, dy) * 4);
                        }

                        _scales!.Add(model, x, dy, shape);
                        _scales.AssertParameterGradients(model, layer, Tolerance, what);
                    };
                    break;
                }

                case 9:
                    what = $"{context}: Train/Eval";
                    bool training = random.Next(2) == 0;
                    call = () => layer.Train(training);
                    onSuccess = () => model.Training = training;
                    break;
                case 10:
                {
                    int value = new[] { 1, 2, -1, 0, -2, int.MinValue, int.MaxValue }[random.Next(7)];
                    what = $"{context}: MaxDegreeOfParallelism = {value}";
                    call = () => layer.MaxDegreeOfParallelism = value;
                    onSuccess = () => Assert.True(value == -1 || value > 0, $"{what} should have thrown");
                    break;
                }

                case 11:
                {
                    long value = new[] { 0L, 5, -1, long.MinValue, long.MaxValue, long.MaxValue - 1 }[random.Next(6)];
                    what = $"{context}: NumBatchesTracked = {value}";
                    call = () => layer.NumBatchesTracked = value;
                    onSuccess = () =>
                    {
                        Assert.True(value >= 0 && (value == 0 || layer.TrackRunningStatistics), $"{what} should have thrown");
                        model.NumBatchesTracked = value;
                    };
                    break;
                }

                case 12:
                {
                    var policy = (NonFiniteStatisticsPolicy)random.Next(-1, 5);
                    what = $"{context}: NonFiniteStatisticsPolicy = {policy}";
                    call = () => layer.NonFiniteStatisticsPolicy = policy;
                    onSuccess = () => Assert.True(Enum.IsDefined(policy), $"{what} should have thrown");
                    break;
                }

                default:
                {
                    int which = random.Next(4);
                    what = $"{context}: {new[] { "ZeroGrad", "ResetParameters", "ResetRunningStatistics", "edit weight and bias" }[which]}";
                    double[] w = TestData.Uniform(random.Next(), layer.Weight.Length, -2, 2), b = TestData.Uniform(random.Next(), layer.Bias.Length, -1, 1);
                    call = which switch
                    {
                        0 => layer.ZeroGrad,
                        1 => layer.ResetParameters,
                        2 => layer.ResetRunningStatistics,
                        _ => () =>
                        {
                            TestData.Convert<T>(w).CopyTo(layer.Weight);
                            TestData.Convert<T>(b).CopyTo(layer.Bias);
                        },
                    };
                    onSuccess = which switch
                    {
                        0 => () =>
                        {
                            model.ZeroGrad();
                            _scales!.Clear();
                        },
                        1 => model.ResetParameters,
                        2 => model.ResetRunningStatistics,
                        _ => () =>
                        {
                            Converted(w).CopyTo(model.Weight, 0);
                            Converted(b).CopyTo(model.Bias, 0);
                        },
                    };
                    break;
                }
            }

            var before = arena.Snapshot();
            Exception? thrown = Record.Exception(call);
            if (thrown is Xunit.Sdk.XunitException)
            {
                throw thrown;
            }

            if (thrown is not null)
            {
                HostileValues.AssertDocumented(thrown, what);
                snapshot.AssertSame(layer, default, $"{what}: after {thrown.GetType().Name} ({thrown.Message})");
                arena.AssertUnchangedExcept(before, [], $"{what}: after {thrown.GetType().Name}");
                return;
            }

            onSuccess?.Invoke();
            arena.AssertUnchangedExcept(before, outputs, $"{what}: outside the output span");
            if (model.NumBatchesTracked < 0)
            {
                model.NumBatchesTracked = long.MaxValue; // the layer's counter saturates
            }

            Assert.True(model.NumBatchesTracked == layer.NumBatchesTracked, $"{what}: NumBatchesTracked {layer.NumBatchesTracked}, model {model.NumBatchesTracked}");
        }
    }
}

public sealed class LayerFuzzTestsFloat : LayerFuzzTests<float>
{
}

public sealed class LayerFuzzTestsDouble : LayerFuzzTests<double>
{
}
