using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics;
using Xunit;

namespace BatchNorm.Tests.Reliability;

/// <summary>
/// All the spans of one call, placed in one array per element type (one array in all when T is double) with sentinel
/// gaps between them; a span may instead overlap an earlier one (the very same memory, or shifted). After a call the
/// whole array is compared: a failed call must leave every element bit-identical, a successful one may change only its
/// output spans, and never a sentinel.
/// </summary>
internal sealed class SpanArena<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private const double Sentinel = -9876.5;
    private readonly List<(string Name, bool IsDouble, int Start, int Length)> _regions = [];
    private readonly Random _random;
    private readonly bool _shared = typeof(T) == typeof(double);
    private int _typedEnd = 2;
    private int _doubleEnd = 2;
    private T[] _typed = [];
    private double[] _doubles = [];

    public SpanArena(Random random) => _random = random;

    public double OverlapChance { get; set; } = 0.12;

    public string Describe() => string.Join(", ", _regions.Select(r => $"{r.Name}[{(r.IsDouble ? "d" : "T")}@{r.Start}+{r.Length}]"));

    /// <summary>Reserves a span; returns its index. Call <see cref="Build"/> once all are reserved.</summary>
    public int Add(string name, bool isDouble, int length)
    {
        var candidates = _regions.Where(r => (r.IsDouble == isDouble || _shared) && r.Length > 0).ToList();
        int start;
        if (length > 0 && candidates.Count > 0 && _random.NextDouble() < OverlapChance)
        {
            var other = candidates[_random.Next(candidates.Count)];
            start = Math.Max(2, other.Start + (_random.Next(3) == 0 ? 0 : _random.Next(-3, 4)));
        }
        else
        {
            ref int end = ref (isDouble || _shared) ? ref _doubleEnd : ref _typedEnd;
            start = end + _random.Next(1, 4);
        }

        ref int last = ref (isDouble || _shared) ? ref _doubleEnd : ref _typedEnd;
        last = Math.Max(last, start + length);
        _regions.Add((name, isDouble, start, length));
        return _regions.Count - 1;
    }

    /// <summary>Allocates the arrays (sentinel everywhere), then fills each span with random data in order.</summary>
    public void Build()
    {
        _doubles = new double[_doubleEnd + 3];
        Array.Fill(_doubles, Sentinel);
        _typed = _shared ? (T[])(object)_doubles : new T[_typedEnd + 3];
        if (!_shared)
        {
            Array.Fill(_typed, T.CreateTruncating(Sentinel));
        }

        foreach (var r in _regions)
        {
            bool positive = r.Name.Contains("ariance", StringComparison.Ordinal) || r.Name == "inverseStandardDeviation";
            for (int i = 0; i < r.Length; i++)
            {
                double v = positive ? 0.5 + (1.5 * _random.NextDouble()) : (4 * _random.NextDouble()) - 2;
                if (r.IsDouble)
                {
                    _doubles[r.Start + i] = v;
                }
                else
                {
                    _typed[r.Start + i] = T.CreateTruncating(v);
                }
            }
        }
    }

    public Span<T> Typed(int index) => _typed.AsSpan(_regions[index].Start, _regions[index].Length);

    public Span<double> Doubles(int index) => _doubles.AsSpan(_regions[index].Start, _regions[index].Length);

    public (T[] Typed, double[] Doubles) Snapshot() => ((T[])_typed.Clone(), (double[])_doubles.Clone());

    /// <summary>The values span <paramref name="index"/> held in <paramref name="snapshot"/>, as double.</summary>
    public double[] Before((T[] Typed, double[] Doubles) snapshot, int index)
    {
        var r = _regions[index];
        return r.IsDouble
            ? snapshot.Doubles.AsSpan(r.Start, r.Length).ToArray()
            : TestData.ToDouble<T>(snapshot.Typed.AsSpan(r.Start, r.Length));
    }

    /// <summary>Asserts that every element outside the spans <paramref name="outputs"/> is bit-identical to <paramref name="snapshot"/>.</summary>
    public void AssertUnchangedExcept((T[] Typed, double[] Doubles) snapshot, IReadOnlyCollection<int> outputs, string context)
    {
        var typedWritable = new bool[_typed.Length];
        var doubleWritable = new bool[_doubles.Length];
        foreach (int o in outputs)
        {
            var r = _regions[o];
            bool[] w = r.IsDouble || _shared ? doubleWritable : typedWritable;
            for (int i = 0; i < r.Length; i++)
            {
                w[r.Start + i] = true;
            }
        }

        if (_shared)
        {
            typedWritable = doubleWritable;
        }

        for (int i = 0; i < _doubles.Length; i++)
        {
            if (!doubleWritable[i] && BitConverter.DoubleToInt64Bits(_doubles[i]) != BitConverter.DoubleToInt64Bits(snapshot.Doubles[i]))
            {
                Assert.Fail($"{context}: double array element {i} changed from {snapshot.Doubles[i]:R} to {_doubles[i]:R} (spans: {Describe()}).");
            }
        }

        for (int i = 0; i < _typed.Length; i++)
        {
            if (!typedWritable[i] && !_typed[i].Equals(snapshot.Typed[i]) && !(T.IsNaN(_typed[i]) && T.IsNaN(snapshot.Typed[i])))
            {
                Assert.Fail($"{context}: {typeof(T).Name} array element {i} changed from {snapshot.Typed[i]} to {_typed[i]} (spans: {Describe()}).");
            }
        }
    }
}

/// <summary>
/// Hostile use of the public API, seeded and bounded: random ranks, shapes (negative, zero, huge, overflowing int),
/// span lengths (short, long, empty), overlapping spans (slices of one array), hyperparameters (NaN, ±∞, negative, &gt; 1)
/// and call orders, on the kernels and on layers. Every call either succeeds and matches the reference, or throws
/// ArgumentException (or a subclass) / InvalidOperationException with every piece of state bit-identical to before;
/// nothing is written outside the output spans (sentinels around every span); NotSupportedException only for an
/// unsupported T.
/// </summary>
public abstract class HostileApiFuzzTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private const int MaxElements = 3000;

    private static readonly int[] HostileDimensions =
        [0, 1, 1, 2, 2, 3, 3, 4, 5, 7, 64, 65, 67, -1, -2, int.MinValue, int.MaxValue, 46341, 65536, 1 << 20, 1431655766];

    private static readonly double[] HostileEpsilons = [1e-5, 1e-5, 1e-3, 0, 1, 1e300, double.Epsilon, double.NaN, double.PositiveInfinity, double.NegativeInfinity, -1, -1e-12];

    private static readonly double?[] HostileMomenta = [0.1, 0.1, null, 0, 1, 0.5, double.NaN, double.PositiveInfinity, double.NegativeInfinity, -0.1, 1.5];

    private static readonly string[] Kernels =
    [
        nameof(BatchNormKernels.ForwardTraining), nameof(BatchNormKernels.ForwardInference), nameof(BatchNormKernels.Normalize),
        nameof(BatchNormKernels.ComputeStatistics), nameof(BatchNormKernels.UpdateRunningStatistics), nameof(BatchNormKernels.BackwardTraining),
        nameof(BatchNormKernels.BackwardInference), nameof(BatchNormKernels.BackwardReduce), nameof(BatchNormKernels.BackwardElementwise),
    ];

    private static double Tolerance => 4 * Tolerances.For<T>();

    /// <summary>Kernels: 2,000 seeded random calls (×BATCHNORM_LONG_PROPERTIES) with hostile layouts, lengths, overlaps and hyperparameters.</summary>
    [Fact]
    public void Kernels_HostileCalls_SucceedAndMatchReference_OrThrowDocumentedWithNothingChanged()
    {
        // Every iteration runs; the failures are reported together (the first of each kernel), so one finding does not hide the others.
        long iterations = PropertyRuns.Iterations(2000);
        var failures = new Dictionary<string, (int Count, string First)>();
        for (int i = 0; i < iterations; i++)
        {
            var random = new Random(7919 * i + typeof(T).Name.Length);
            string kernel = Kernels[random.Next(Kernels.Length)];
            try
            {
                KernelCall(random, kernel, $"{typeof(T).Name} kernel iteration {i} (seed {7919 * i + typeof(T).Name.Length}) {kernel}");
            }
            catch (Xunit.Sdk.XunitException e)
            {
                failures[kernel] = failures.TryGetValue(kernel, out var f) ? (f.Count + 1, f.First) : (1, e.Message);
            }
        }

        Assert.True(
            failures.Count == 0,
            $"{failures.Values.Sum(f => f.Count)} of {iterations} calls failed:\n" + string.Join("\n", failures.Select(f => $"{f.Key}: {f.Value.Count} failures; first: {f.Value.First}")));
    }

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

    /// <summary>A layout or shape whose element count overflows int is rejected (never wrapped), by the layout and by a layer.</summary>
    [Theory]
    [InlineData(65536, 3, 65536)]
    [InlineData(1431655766, 3, 1)]
    [InlineData(46341, 1, 46341)]
    [InlineData(int.MaxValue, 2, 1)]
    [InlineData(1, int.MaxValue, 2)]
    public void OverflowingElementCount_IsRejected_NotWrapped(int n, int c, int s)
    {
        Assert.ThrowsAny<ArgumentException>(() => new BatchNormLayout(n, c, s));
        Assert.ThrowsAny<ArgumentException>(() => BatchNormLayout.FromShape([n, c, s]));
        Assert.ThrowsAny<ArgumentException>(() => BatchNormLayout.FromShape([n, c, s, 1]));
        var layer = new BatchNorm1d<T>(3);
        var snapshot = new LayerSnapshot<T>(layer, default);
        ArgumentException e = Assert.ThrowsAny<ArgumentException>(() => layer.Forward(new T[12], [n, c, s], new T[12]));
        Assert.Equal("shape", e.ParamName);
        snapshot.AssertSame(layer, default, "after an overflowing shape");
    }

    /// <summary>
    /// Backward (eval and training) of an empty tensor with a huge batch dimension — shape [20000000, 5, 0], no elements
    /// at all — returns within 100 ms (it has nothing to do; the forward of the same shape takes microseconds).
    /// </summary>
    [Fact]
    public void Backward_OnEmptyTensorWithHugeBatch_ReturnsPromptly()
    {
        var layer = new BatchNorm1d<T>(5);
        // A loop over every (n, c) of this empty tensor takes tens of seconds; the bound leaves room for a noisy machine.
        int[] shape = [400_000_000, 5, 0];
        layer.Eval();
        var forward = System.Diagnostics.Stopwatch.StartNew();
        layer.Forward([], shape, []);
        forward.Stop();
        var backward = System.Diagnostics.Stopwatch.StartNew();
        layer.Backward([], shape, [], []);
        backward.Stop();
        var kernel = System.Diagnostics.Stopwatch.StartNew();
        BatchNormKernels.BackwardTraining<T>([], [], [], new BatchNormLayout(400_000_000, 5, 0), default, new double[5], new double[5], new T[5], new T[5]);
        kernel.Stop();
        Assert.True(
            backward.ElapsedMilliseconds < 1000 && kernel.ElapsedMilliseconds < 1000,
            $"an empty tensor of shape [{string.Join(", ", shape)}]: Forward {forward.ElapsedMilliseconds} ms, Backward {backward.ElapsedMilliseconds} ms, BackwardTraining kernel {kernel.ElapsedMilliseconds} ms; expected < 1000 ms");
        Assert.All(layer.WeightGradient.ToArray(), g => Assert.Equal(T.Zero, g));
    }

    private static int Dimension(Random random) =>
        random.NextDouble() < 0.75 ? random.Next(0, 6) : HostileDimensions[random.Next(HostileDimensions.Length)];

    private static double[] Converted(double[] values) => TestData.ToDouble<T>(TestData.Convert<T>(values));

    /// <summary>
    /// Asserts an exception is documented: ArgumentException (including ArgumentOutOfRangeException) or
    /// InvalidOperationException; never NotSupportedException for float or double, never anything else.
    /// </summary>
    private static void AssertDocumented(Exception e, string context)
    {
        bool documented = e is ArgumentException || e is InvalidOperationException;
        Assert.True(documented, $"{context}: undocumented {e.GetType().FullName}: {e.Message}\n{e.StackTrace}");
    }

    private static void KernelCall(Random random, string kernel, string context)
    {
        // The layout: sometimes default(BatchNormLayout) (0, 0, 0), sometimes hostile; an overflowing or negative one
        // must be rejected by the constructor.
        BatchNormLayout layout;
        if (random.Next(12) == 0)
        {
            layout = default;
        }
        else
        {
            int n = Dimension(random), c = Math.Max(Dimension(random), random.Next(2) == 0 ? 1 : int.MinValue), s = Dimension(random);
            if (n == 0 || s == 0)
            {
                (n, s) = (Math.Min(n, 1 << 16), Math.Min(s, 1 << 16)); // see Backward_OnEmptyTensorWithHugeBatch_ReturnsPromptly
            }

            bool valid = n >= 0 && c > 0 && s >= 0 && (long)n * c * s <= int.MaxValue;
            try
            {
                layout = new BatchNormLayout(n, c, s);
            }
            catch (ArgumentOutOfRangeException) when (!valid)
            {
                return;
            }

            Assert.True(valid, $"{context}: new BatchNormLayout({n}, {c}, {s}) should have thrown ArgumentOutOfRangeException");
            Assert.Equal((long)n * c * s, layout.Length);
        }

        int length = layout.Length, channels = layout.Channels;
        var arena = new SpanArena<T>(random);
        int Len(int correct, bool optional)
        {
            int pick = random.Next(20);
            int len = pick switch
            {
                0 => correct + 1,
                1 => Math.Max(0, correct - 1),
                2 => 0,
                3 => correct + 7,
                _ => optional && pick == 4 ? 0 : correct,
            };
            return Math.Min(len, MaxElements + 8);
        }

        var spans = new Dictionary<string, int>();
        void Typed(string name, int correct, bool optional = false) => spans[name] = arena.Add(name, false, Len(correct, optional));
        void Doubles(string name) => spans[name] = arena.Add(name, true, Len(channels, false));

        double epsilon = HostileEpsilons[random.Next(HostileEpsilons.Length)];
        int degree = new[] { -1, 1, 2, 3, 0, int.MaxValue }[random.Next(6)];
        double factor = new[] { 0.1, 0.5, 0, 1, double.NaN, -0.1, 1.5, double.PositiveInfinity }[random.Next(8)];
        int valuesPerChannel = new[] { layout.ValuesPerChannel, layout.ValuesPerChannel, 2, 1, 0, -3, int.MaxValue }[random.Next(7)];
        long count = new[] { layout.ValuesPerChannel, layout.ValuesPerChannel, 3L * layout.ValuesPerChannel, 0, -1, long.MaxValue }[random.Next(6)];

        string[] typedInputs, typedOutputs, doubleInputs, doubleOutputs;
        switch (kernel)
        {
            case nameof(BatchNormKernels.ForwardTraining):
                (typedInputs, typedOutputs, doubleInputs, doubleOutputs) = (["input", "weight", "bias"], ["output"], [], ["mean", "variance", "inverseStandardDeviation"]);
                break;
            case nameof(BatchNormKernels.ForwardInference):
                (typedInputs, typedOutputs, doubleInputs, doubleOutputs) = (["input", "weight", "bias", "runningMean", "runningVariance"], ["output"], [], []);
                break;
            case nameof(BatchNormKernels.Normalize):
                (typedInputs, typedOutputs, doubleInputs, doubleOutputs) = (["input", "weight", "bias"], ["output"], ["mean", "inverseStandardDeviation"], []);
                break;
            case nameof(BatchNormKernels.ComputeStatistics):
                (typedInputs, typedOutputs, doubleInputs, doubleOutputs) = (["input"], [], [], ["mean", "variance"]);
                break;
            case nameof(BatchNormKernels.UpdateRunningStatistics):
                (typedInputs, typedOutputs, doubleInputs, doubleOutputs) = ([], ["runningMean", "runningVariance"], ["mean", "variance"], []);
                break;
            case nameof(BatchNormKernels.BackwardTraining):
                (typedInputs, typedOutputs, doubleInputs, doubleOutputs) = (["input", "gradOutput", "weight"], ["gradInput", "weightGradient", "biasGradient"], ["mean", "inverseStandardDeviation"], []);
                break;
            case nameof(BatchNormKernels.BackwardInference):
                (typedInputs, typedOutputs, doubleInputs, doubleOutputs) = (["input", "gradOutput", "weight", "runningMean", "runningVariance"], ["gradInput", "weightGradient", "biasGradient"], [], []);
                break;
            case nameof(BatchNormKernels.BackwardReduce):
                (typedInputs, typedOutputs, doubleInputs, doubleOutputs) = (["input", "gradOutput"], [], ["mean"], ["sumGradOutput", "sumGradOutputCentered"]);
                break;
            default:
                (typedInputs, typedOutputs, doubleInputs, doubleOutputs) = (["input", "gradOutput", "weight"], ["gradInput"], ["mean", "inverseStandardDeviation", "sumGradOutput", "sumGradOutputCentered"], []);
                break;
        }

        foreach (string name in typedInputs.Concat(typedOutputs))
        {
            bool tensor = name is "input" or "output" or "gradOutput" or "gradInput";
            bool optional = name is "weight" or "bias" or "weightGradient" or "biasGradient" || (name == "gradInput" && kernel != nameof(BatchNormKernels.BackwardElementwise));
            Typed(name, tensor ? length : channels, optional);
        }

        foreach (string name in doubleInputs.Concat(doubleOutputs))
        {
            Doubles(name);
        }

        arena.Build();
        var before = arena.Snapshot();
        string call = $"{context}: layout {layout}, eps {epsilon:R}, degree {degree}, factor {factor:R}, valuesPerChannel {valuesPerChannel}, count {count}; spans {arena.Describe()}";
        Span<T> S(string name) => arena.Typed(spans[name]);
        Span<double> D(string name) => arena.Doubles(spans[name]);
        Exception? thrown = null;
        try
        {
            switch (kernel)
            {
                case nameof(BatchNormKernels.ForwardTraining):
                    BatchNormKernels.ForwardTraining<T>(S("input"), S("output"), layout, S("weight"), S("bias"), epsilon, D("mean"), D("variance"), D("inverseStandardDeviation"), degree);
                    break;
                case nameof(BatchNormKernels.ForwardInference):
                    BatchNormKernels.ForwardInference<T>(S("input"), S("output"), layout, S("weight"), S("bias"), S("runningMean"), S("runningVariance"), epsilon, degree);
                    break;
                case nameof(BatchNormKernels.Normalize):
                    BatchNormKernels.Normalize<T>(S("input"), S("output"), layout, S("weight"), S("bias"), D("mean"), D("inverseStandardDeviation"), degree);
                    break;
                case nameof(BatchNormKernels.ComputeStatistics):
                    BatchNormKernels.ComputeStatistics<T>(S("input"), layout, D("mean"), D("variance"), degree);
                    break;
                case nameof(BatchNormKernels.UpdateRunningStatistics):
                    BatchNormKernels.UpdateRunningStatistics<T>(S("runningMean"), S("runningVariance"), D("mean"), D("variance"), valuesPerChannel, factor);
                    break;
                case nameof(BatchNormKernels.BackwardTraining):
                    BatchNormKernels.BackwardTraining<T>(S("input"), S("gradOutput"), S("gradInput"), layout, S("weight"), D("mean"), D("inverseStandardDeviation"), S("weightGradient"), S("biasGradient"), degree);
                    break;
                case nameof(BatchNormKernels.BackwardInference):
                    BatchNormKernels.BackwardInference<T>(S("input"), S("gradOutput"), S("gradInput"), layout, S("weight"), S("runningMean"), S("runningVariance"), epsilon, S("weightGradient"), S("biasGradient"), degree);
                    break;
                case nameof(BatchNormKernels.BackwardReduce):
                    BatchNormKernels.BackwardReduce<T>(S("input"), S("gradOutput"), layout, D("mean"), D("sumGradOutput"), D("sumGradOutputCentered"), degree);
                    break;
                default:
                    BatchNormKernels.BackwardElementwise<T>(S("input"), S("gradOutput"), S("gradInput"), layout, S("weight"), D("mean"), D("inverseStandardDeviation"), D("sumGradOutput"), D("sumGradOutputCentered"), count, degree);
                    break;
            }
        }
        catch (Exception e)
        {
            thrown = e;
        }

        if (thrown is not null)
        {
            AssertDocumented(thrown, call);
            arena.AssertUnchangedExcept(before, [], $"{call}: after {thrown.GetType().Name} ({thrown.Message})");
            return;
        }

        // Success: the outputs match the oracle computed from the values before the call, and nothing else changed.
        var outputs = typedOutputs.Concat(doubleOutputs).Select(n => spans[n]).ToList();
        arena.AssertUnchangedExcept(before, outputs, $"{call}: outside the output spans");
        double[] B(string name) => arena.Before(before, spans[name]);
        KernelOracle(kernel, layout, B, epsilon, valuesPerChannel, factor, count, out Dictionary<string, (double[] Values, double Scale)> expected);
        foreach ((string name, (double[] values, double scale)) in expected)
        {
            if (typedOutputs.Contains(name))
            {
                if (S(name).IsEmpty)
                {
                    continue; // an optional output that was skipped
                }

                Close<T>(values, S(name), Tolerance, $"{call}: {name}", scale);
            }
            else
            {
                Close<double>(values, D(name), 1e-12, $"{call}: {name}", scale);
            }
        }
    }

    /// <summary>
    /// The expected outputs of a successful kernel call, from the argument values before it, with the scale of the terms
    /// each output sums. Statistics come from <see cref="ReferenceBatchNorm"/>; the rest from the formulas in DESIGN.md.
    /// </summary>
    private static void KernelOracle(
        string kernel, BatchNormLayout layout, Func<string, double[]> before, double epsilon, int valuesPerChannel, double factor, long count,
        out Dictionary<string, (double[] Values, double Scale)> expected)
    {
        expected = [];
        int n = layout.BatchSize, channels = layout.Channels, s = layout.SpatialSize, m = layout.ValuesPerChannel;
        int[] shape = [n, channels, s];
        double At(double[] v, int c, double fallback) => v.Length == 0 ? fallback : v[c];
        switch (kernel)
        {
            case nameof(BatchNormKernels.UpdateRunningStatistics):
            {
                double[] rm = before("runningMean"), rv = before("runningVariance"), mean = before("mean"), variance = before("variance");
                double unbias = valuesPerChannel / (valuesPerChannel - 1.0);
                expected["runningMean"] = (rm.Select((r, c) => ((1 - factor) * r) + (factor * mean[c])).ToArray(), rm.Concat(mean).Select(Math.Abs).DefaultIfEmpty().Max());
                expected["runningVariance"] = (rv.Select((r, c) => ((1 - factor) * r) + (factor * variance[c] * unbias)).ToArray(), rv.Concat(variance).Select(Math.Abs).DefaultIfEmpty().Max() * unbias);
                return;
            }

            case nameof(BatchNormKernels.ComputeStatistics):
            case nameof(BatchNormKernels.ForwardTraining):
            {
                double[] x = before("input");
                bool forward = kernel == nameof(BatchNormKernels.ForwardTraining);
                double[] w = forward ? before("weight") : [], b = forward ? before("bias") : [];
                var reference = new ReferenceBatchNorm(channels, forward ? epsilon : 0, 0.1, affine: true, track: false);
                for (int c = 0; c < channels; c++)
                {
                    reference.Weight[c] = At(w, c, 1);
                    reference.Bias[c] = At(b, c, 0);
                }

                double[] y = reference.Forward(x, shape);
                double scaleX = x.Length == 0 ? 0 : x.Max(Math.Abs);
                expected["mean"] = (reference.BatchMean, scaleX);
                expected["variance"] = (reference.BatchVar, scaleX * scaleX);
                if (forward)
                {
                    expected["inverseStandardDeviation"] = (reference.UsedInvStd, 0);
                    expected["output"] = (y, OutputScale(x, layout, reference.UsedMean, reference.UsedInvStd, w, b));
                }

                return;
            }

            case nameof(BatchNormKernels.ForwardInference):
            case nameof(BatchNormKernels.Normalize):
            {
                double[] x = before("input"), w = before("weight"), b = before("bias");
                double[] mean, invStd;
                if (kernel == nameof(BatchNormKernels.Normalize))
                {
                    (mean, invStd) = (before("mean"), before("inverseStandardDeviation"));
                }
                else
                {
                    mean = before("runningMean");
                    invStd = before("runningVariance").Select(v => ReferenceBatchNorm.InvStd(v, epsilon)).ToArray();
                }

                var y = new double[x.Length];
                foreach (var (at, c) in Elements(layout))
                {
                    y[at] = ((x[at] - mean[c]) * invStd[c] * At(w, c, 1)) + At(b, c, 0);
                }

                expected["output"] = (y, OutputScale(x, layout, mean, invStd, w, b));
                return;
            }

            default:
            {
                // The backward kernels: dx = w·invstd·(dy − Σdy/count − (x − mean)·invstd²·Σdy(x − mean)/count) in
                // training, dx = dy·w·invstd in inference; parameter gradients are added to what is there.
                double[] x = before("input"), dy = before("gradOutput");
                bool inference = kernel == nameof(BatchNormKernels.BackwardInference);
                double[] w = kernel == nameof(BatchNormKernels.BackwardReduce) ? [] : before("weight");
                double[] mean = inference ? before("runningMean") : before("mean");
                double[] invStd = inference
                    ? before("runningVariance").Select(v => ReferenceBatchNorm.InvStd(v, epsilon)).ToArray()
                    : kernel == nameof(BatchNormKernels.BackwardReduce) ? new double[channels] : before("inverseStandardDeviation");
                double[] sumDy = new double[channels], sumDyX = new double[channels], absDy = new double[channels], absDyX = new double[channels];
                foreach (var (at, c) in Elements(layout))
                {
                    sumDy[c] += dy[at];
                    sumDyX[c] += dy[at] * (x[at] - mean[c]);
                    absDy[c] += Math.Abs(dy[at]);
                    absDyX[c] += Math.Abs(dy[at] * (x[at] - mean[c]));
                }

                bool given = kernel == nameof(BatchNormKernels.BackwardElementwise);
                if (given)
                {
                    (sumDy, sumDyX) = (before("sumGradOutput"), before("sumGradOutputCentered"));
                }

                if (kernel == nameof(BatchNormKernels.BackwardReduce))
                {
                    expected["sumGradOutput"] = (sumDy, absDy.DefaultIfEmpty().Max());
                    expected["sumGradOutputCentered"] = (sumDyX, absDyX.DefaultIfEmpty().Max());
                    return;
                }

                double total = given ? count : m;
                var dx = new double[x.Length];
                double scale = 0;
                foreach (var (at, c) in Elements(layout))
                {
                    double a = At(w, c, 1) * invStd[c];
                    double xc = x[at] - mean[c];
                    dx[at] = inference ? dy[at] * a : a * (dy[at] - (sumDy[c] / total) - (xc * invStd[c] * invStd[c] * sumDyX[c] / total));
                    double magnitude = inference ? Math.Abs(dy[at] * a) : Math.Abs(a) * (Math.Abs(dy[at]) + Math.Abs(sumDy[c] / total) + Math.Abs((Math.Abs(xc) + Math.Abs(mean[c])) * invStd[c] * invStd[c] * sumDyX[c] / total));
                    scale = Math.Max(scale, magnitude);
                }

                expected["gradInput"] = (dx, scale);
                if (!given)
                {
                    double[] wg0 = before("weightGradient"), bg0 = before("biasGradient");
                    expected["weightGradient"] = (wg0.Select((g, c) => g + (sumDyX[c] * invStd[c])).ToArray(), wg0.Select((g, c) => Math.Abs(g) + (absDyX[c] * invStd[c])).DefaultIfEmpty().Max());
                    expected["biasGradient"] = (bg0.Select((g, c) => g + sumDy[c]).ToArray(), bg0.Select((g, c) => Math.Abs(g) + absDy[c]).DefaultIfEmpty().Max());
                }

                return;
            }
        }
    }

    /// <summary>
    /// <see cref="Expect.Close{T}"/> for hostile data: NaN expected (a negative variance given, say) must be NaN; the
    /// expected value is rounded to T first (it may underflow); the scale ignores non-finite values.
    /// </summary>
    private static void Close<TValue>(double[] expected, ReadOnlySpan<TValue> actual, double tolerance, string what, double scale)
        where TValue : unmanaged, IBinaryFloatingPointIeee754<TValue>
    {
        Assert.True(expected.Length == actual.Length, $"{what}: expected length {expected.Length}, got {actual.Length}.");
        double max = double.IsFinite(scale) ? scale : 0;
        foreach (double e in expected)
        {
            max = double.IsFinite(e) ? Math.Max(max, Math.Abs(e)) : max;
        }

        for (int i = 0; i < expected.Length; i++)
        {
            double e = double.CreateTruncating(TValue.CreateTruncating(expected[i]));
            double a = double.CreateTruncating(actual[i]);
            bool ok = double.IsNaN(e) ? double.IsNaN(a) : !double.IsFinite(e) ? e.Equals(a) : Math.Abs(a - e) <= tolerance * (Math.Abs(e) + max);
            Assert.True(ok, $"{what}[{i}]: expected {e:R}, got {a:R} (bound {tolerance * (Math.Abs(e) + max):E3}).");
        }
    }

    private static double OutputScale(double[] x, BatchNormLayout layout, double[] mean, double[] invStd, double[] w, double[] b)
    {
        double scale = 0;
        foreach (var (at, c) in Elements(layout))
        {
            double weight = w.Length == 0 ? 1 : w[c], bias = b.Length == 0 ? 0 : b[c];
            scale = Math.Max(scale, (Math.Abs(x[at] - mean[c]) * Math.Abs(invStd[c] * weight)) + Math.Abs(bias));
        }

        return scale;
    }

    private static IEnumerable<(int At, int Channel)> Elements(BatchNormLayout layout)
    {
        for (int i = 0; i < layout.BatchSize; i++)
        {
            for (int c = 0; c < layout.Channels; c++)
            {
                for (int j = 0; j < layout.SpatialSize; j++)
                {
                    yield return ((((i * layout.Channels) + c) * layout.SpatialSize) + j, c);
                }
            }
        }
    }

    /// <summary>One random layer (hostile constructor arguments) driven by random calls next to a reference model.</summary>
    private sealed class LayerFuzz(Random random, string context)
    {
        private BatchNormBase<T>? _layer;
        private ReferenceBatchNorm? _model;
        private PropertyTests<T>.GradientScales? _scales;
        private int[]? _lastShape;
        private int _rank;

        public void Run(int calls)
        {
            int numFeatures = new[] { 1, 2, 3, 5, 64, 65, 67, 0, -1, int.MinValue }[random.Next(10)];
            double epsilon = HostileEpsilons[random.Next(HostileEpsilons.Length)];
            double? momentum = HostileMomenta[random.Next(HostileMomenta.Length)];
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
            _scales = new PropertyTests<T>.GradientScales(numFeatures);
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
                shape[d] = d == 1 && random.Next(6) > 0 ? layer.NumFeatures : Dimension(random);
            }

            return ClampEmpty(shape);
        }

        /// <summary>
        /// A shape of zero elements keeps its other dimensions at most 65536: huge ones there make Backward loop over
        /// every (n, c) pair (see <see cref="HostileApiFuzzTests{T}.Backward_OnEmptyTensorWithHugeBatch_ReturnsPromptly"/>),
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
                    int correct = (int)Math.Min(product, MaxElements + 8);
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
                    call = () => PropertyTests<T>.ForwardAndCompare(layer, model, arena.Typed(input), shape, arena.Typed(output), Tolerance, what);
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
                        PropertyTests<T>.SyncRunningStatistics(layer, model);
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
                    int correct = (int)Math.Min(product, MaxElements + 8);
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
                            Expect.Close<T>(expected, dxSpan, Tolerance, $"{what}: gradInput", PropertyTests<T>.GradInputScale(model, dy) * 4);
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
                AssertDocumented(thrown, what);
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

public sealed class HostileApiFuzzTestsFloat : HostileApiFuzzTests<float>
{
}

public sealed class HostileApiFuzzTestsDouble : HostileApiFuzzTests<double>
{
}

/// <summary>NotSupportedException, and only it, for an element type other than float and double (here Half).</summary>
public sealed class UnsupportedElementTypeFuzzTests
{
    [Fact]
    public void Half_IsRejectedWithNotSupportedException_ByLayersAndKernels()
    {
        Assert.Throws<NotSupportedException>(() => new BatchNorm1d<Half>(3));
        Assert.Throws<NotSupportedException>(() => new BatchNorm2d<Half>(3));
        Assert.Throws<NotSupportedException>(() => new BatchNorm3d<Half>(3));
        var layout = new BatchNormLayout(2, 3, 1);
        var x = new Half[6];
        var y = new Half[6];
        var stats = new double[3];
        Assert.Throws<NotSupportedException>(() => BatchNormKernels.ForwardTraining<Half>(x, y, layout, default, default, 1e-5, new double[3], new double[3], new double[3]));
        Assert.Throws<NotSupportedException>(() => BatchNormKernels.ComputeStatistics<Half>(x, layout, new double[3], new double[3]));
        Assert.Throws<NotSupportedException>(() => BatchNormKernels.BackwardTraining<Half>(x, x, y, layout, default, stats, stats, default, default));
        Assert.All(y, v => Assert.Equal(Half.Zero, v));
    }
}
